"""One ``chat/ask``: a question answered with JSON matching a schema, checked, asked again once.

The provider call runs on a scratch copy of the history with ``Conversation.answer`` set, so
the real history changes only when an answer passed validation and ``record`` is on: then the
question and the answer (as JSON text) join it as a plain user and assistant turn, which every
provider accepts later. The forced tool call, strict response format or re-ask never reach
the history, so a later ``chat/send`` sees no trace of them. The answer's own text and tool
call events are not streamed (the result carries the value); reasoning is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import anyio

from chatd.core.answers import AnswerFormat
from chatd.core.attachments import Attachment
from chatd.core.events import ThinkingDelta, TurnEvent
from chatd.core.providers.base import Conversation, Emit, Provider, StepResult, ToolResult, Usage
from chatd.core.turns import TurnOutcome
from chatd.errors import InvalidAnswer

REASK = (
    "That answer does not match the required JSON schema:\n{errors}\n"
    "Answer again with only the corrected JSON."
)


@dataclass(frozen=True, slots=True)
class AskOutcome(TurnOutcome):
    value: Any = None
    recorded: bool = False


class Ask:
    """Has ``run`` and ``cancelled_outcome`` like ``Turn``, so a session runs either."""

    def __init__(
        self,
        provider: Provider,
        conversation: Conversation,
        emit: Emit,
        *,
        answer: AnswerFormat,
        record: bool,
    ) -> None:
        self.provider = provider
        self.conversation = conversation
        self.answer = answer
        self.record = record
        self.usage = Usage()
        self.cancelled_outcome: AskOutcome | None = None
        self._emit = emit

    async def run(self, message: str, attachments: Sequence[Attachment] = ()) -> AskOutcome:
        provider, real = self.provider, self.conversation
        question = provider.user_message(message, attachments)
        scratch = replace(
            real,
            history=[*real.history, question],
            tools=(),
            state=dict(real.state),
            answer=self.answer,
        )
        try:
            result, value, errors = await self._attempt(scratch)
            if errors:  # once more, told what was wrong
                self._reask(scratch, result, errors)
                result, value, errors = await self._attempt(scratch)
        except anyio.get_cancelled_exc_class():
            self.cancelled_outcome = AskOutcome("", "cancelled", self.usage)
            raise
        if errors:
            raise InvalidAnswer(provider=provider.name, errors=errors)
        return self._accept(question, value, result, scratch)

    async def _attempt(self, scratch: Conversation) -> tuple[StepResult, Any, list[str]]:
        result = await self.provider.step(scratch, self._reasoning_only)
        self.usage += result.usage
        value, errors = self.answer.read(_raw_answer(result, self.answer))
        return result, value, errors

    def _reask(self, scratch: Conversation, result: StepResult, errors: list[str]) -> None:
        listed = "\n".join(f"- {error}" for error in errors)
        text = REASK.format(errors=listed)
        if result.tool_calls:  # Claude's forced call: the correction is the call's result
            results = [ToolResult(call.id, call.name, text, True) for call in result.tool_calls]
            scratch.history += result.messages + self.provider.tool_result_messages(results)
        else:
            scratch.history += [*result.messages, self.provider.user_message(text)]

    def _accept(
        self, question: Any, value: Any, result: StepResult, scratch: Conversation
    ) -> AskOutcome:
        text = json.dumps(value, ensure_ascii=False)
        if self.record:
            self.conversation.history += [question, self.provider.assistant_message(text)]
            self.conversation.state.update(scratch.state)
        stop = "end_turn" if result.stop_reason == "tool_use" else result.stop_reason
        return AskOutcome(text, stop, self.usage, value=value, recorded=self.record)

    def _reasoning_only(self, event: TurnEvent) -> None:
        if isinstance(event, ThinkingDelta):
            self._emit(event)


def _raw_answer(result: StepResult, answer: AnswerFormat) -> str | dict[str, Any]:
    for call in result.tool_calls:
        if call.name == answer.name:
            return call.arguments
    return result.text
