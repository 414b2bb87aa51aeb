"""One turn: the user's message, then model steps and tool calls until the model stops.

Shared by every provider, so history rules hold everywhere:
- a failed turn rolls history back to before the turn (the user can simply retry);
- a cancelled turn keeps what was completed, keeps the partial text of the step in flight as
  an assistant message (unless it is blank: Anthropic rejects whitespace-only text blocks),
  and answers every dangling tool call with a synthetic "cancelled" result, so the next
  request is always a valid transcript;
- more than ``max_steps`` model calls end the turn with stop reason ``max_steps``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import anyio

from chatd.core.events import TextDelta, ToolResultReady, TurnEvent
from chatd.core.providers.base import Conversation, Emit, Provider, ToolCall, ToolResult, Usage

CANCELLED_TOOL_RESULT = "cancelled by the user before this tool ran to completion"


class ToolRunner(Protocol):
    """Runs a step's calls (``ToolRegistry``, ``SessionTools``); failures are results."""

    async def run_calls(self, calls: Sequence[ToolCall], emit: Emit) -> list[ToolResult]: ...


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    text: str
    stop_reason: str
    usage: Usage


class Turn:
    """One turn on ``conversation``, run in place; keeps what cancellation needs to know.

    Run ``await turn.run(message)`` inside a cancel scope. If the scope is cancelled, ``run``
    leaves a valid history, sets ``cancelled_outcome`` and lets the cancellation propagate.
    Provider failures propagate after rolling history back.
    """

    def __init__(
        self,
        provider: Provider,
        conversation: Conversation,
        tools: ToolRunner,
        emit: Emit,
        *,
        max_steps: int,
    ) -> None:
        self.provider = provider
        self.conversation = conversation
        self.tools = tools
        self.max_steps = max_steps
        self.start = len(conversation.history)
        self.usage = Usage()
        self.cancelled_outcome: TurnOutcome | None = None
        self._emit = emit
        self._texts: list[str] = []
        self._partial: list[str] = []
        self._pending_calls: tuple[ToolCall, ...] = ()
        self._answered: dict[str, ToolResult] = {}

    async def run(self, message: str) -> TurnOutcome:
        history = self.conversation.history
        history.append(self.provider.user_message(message))
        try:
            for _ in range(self.max_steps):
                self._partial.clear()
                result = await self.provider.step(self.conversation, self._record)
                self.usage += result.usage
                history.extend(result.messages)
                self._texts.append(result.text)
                if not result.tool_calls:
                    return self._outcome(result.stop_reason)
                self._pending_calls = result.tool_calls
                results = await self.tools.run_calls(result.tool_calls, self._record)
                history.extend(self.provider.tool_result_messages(results))
                self._pending_calls = ()
                self._answered.clear()
            return self._outcome("max_steps")
        except anyio.get_cancelled_exc_class():
            self._close_after_cancel()
            raise
        except BaseException:
            del history[self.start :]
            raise

    def _record(self, event: TurnEvent) -> None:
        if isinstance(event, TextDelta):
            self._partial.append(event.text)
        elif isinstance(event, ToolResultReady):
            self._answered[event.call_id] = ToolResult(
                event.call_id, event.name, event.content, event.is_error
            )
        self._emit(event)

    def _outcome(self, stop_reason: str) -> TurnOutcome:
        text = "\n\n".join(part for part in self._texts if part)
        return TurnOutcome(text, stop_reason, self.usage)

    def _close_after_cancel(self) -> None:
        history = self.conversation.history
        if self._pending_calls:
            results = [
                self._answered.get(call.id)
                or ToolResult(call.id, call.name, CANCELLED_TOOL_RESULT, is_error=True)
                for call in self._pending_calls
            ]
            history.extend(self.provider.tool_result_messages(results))
        elif (partial := "".join(self._partial)).strip():
            history.append(self.provider.assistant_message(partial))
            self._texts.append(partial)
        elif len(history) == self.start + 1:
            del history[self.start :]
        self.cancelled_outcome = self._outcome("cancelled")
