"""One live conversation: its provider, native history, and exactly one turn at a time.

States: ``idle`` → ``running`` (one turn) → ``idle``; ``closed`` is final. Starting a turn
while running raises ``SessionBusy``. A turn ends completed, cancelled (``chat/cancel``, a
``$/cancelRequest`` of its request, a vanished client, daemon shutdown) or failed (history
rolled back). Every event is numbered per session (``seq``) and handed to every listener.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import anyio

from chatd.core.events import StatusChanged, TurnEvent
from chatd.core.providers.base import Conversation, Provider, Usage
from chatd.core.store.base import Snapshot
from chatd.core.tools.session_tools import SessionTools
from chatd.core.turns import Turn, TurnOutcome
from chatd.errors import ChatdError, SessionBusy, SessionNotFound

Listener = Callable[[str, int, TurnEvent], None]
"""Called with (session id, seq, event); must not block."""

Autosave = Callable[["Session"], Awaitable[ChatdError | None]]
"""Saves a session after its turn; reports a failure instead of raising it."""


@dataclass(frozen=True, slots=True)
class TurnResult:
    session: Session
    outcome: TurnOutcome
    save_error: ChatdError | None = None


TITLE_LENGTH = 60
"""Long enough to recognise a conversation in a list, short enough for one table cell."""


class SessionState(Enum):
    IDLE = "idle"
    RUNNING = "running"
    CLOSED = "closed"


class Session:
    def __init__(
        self,
        *,
        session_id: str,
        provider: Provider,
        conversation: Conversation,
        tools: SessionTools,
        created_at: datetime,
        title: str | None = None,
        metadata: dict[str, str] | None = None,
        revision: int = 0,
        usage: Usage | None = None,
        ephemeral: bool = False,
    ) -> None:
        self.id = session_id
        self.provider = provider
        self.conversation = conversation
        self.tools = tools
        self.created_at = created_at
        self.title = title
        self.metadata = dict(metadata or {})
        self.revision = revision
        self.usage = usage or Usage()
        self.ephemeral = ephemeral
        self.state = SessionState.IDLE
        self.dirty = False
        self.seq = 0
        self.last_active = time.monotonic()
        self.listeners: set[Listener] = set()
        self._scope: anyio.CancelScope | None = None
        self._idle = anyio.Event()
        self._idle.set()

    @property
    def persistent(self) -> bool:
        return not self.ephemeral and self.provider.persistent

    def emit(self, event: TurnEvent) -> None:
        self.seq += 1
        for listener in list(self.listeners):
            listener(self.id, self.seq, event)

    async def run_turn(self, message: str, autosave: Autosave) -> TurnResult:
        """Run one turn, then ``autosave``; cancellation of any kind gives ``cancelled``.

        The turn ends (state idle, ``wait_idle`` returns) only once the save is done, so
        nothing else saves this session at the same time.

        :raises SessionBusy: a turn is already running.
        :raises ProviderFailure: the provider failed; history is as before the turn.
        """
        self._begin_turn()
        turn = Turn(
            self.provider,
            self.conversation,
            self.tools,
            self.emit,
            max_steps=self.provider.settings.max_steps,
        )
        scope = self._scope = anyio.CancelScope()
        outcome = TurnOutcome("", "cancelled", Usage())
        try:
            with scope:
                await self.tools.load_servers()
                self.conversation.tools = self.tools.specs()
                outcome = await turn.run(message)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None:  # our caller was cancelled: answer it, don't die
                current.uncancel()
        except BaseException as exc:
            reason = exc.reason if isinstance(exc, ChatdError) else "internal_error"
            self._end_turn(StatusChanged("failed", reason))
            raise
        if turn.cancelled_outcome is not None:
            outcome = turn.cancelled_outcome
        if self.title is None:
            self.title = _title_from(message)
        self.usage += outcome.usage
        self.dirty = True
        with anyio.CancelScope(shield=True):
            save_error = await autosave(self)
        state = "cancelled" if outcome.stop_reason == "cancelled" else "idle"
        self._end_turn(StatusChanged(state, outcome.stop_reason))
        return TurnResult(self, outcome, save_error)

    def cancel(self) -> bool:
        """Cancel the running turn, if any; the turn's request answers ``cancelled``."""
        if self._scope is None:
            return False
        self._scope.cancel()
        return True

    async def wait_idle(self) -> None:
        await self._idle.wait()

    def close(self) -> None:
        self.state = SessionState.CLOSED
        self.listeners.clear()

    def snapshot(self, *, snapshot_id: str | None = None, revision: int | None = None) -> Snapshot:
        """This conversation as the store saves it (a fork passes a new id and revision 0)."""
        now = datetime.now(UTC)
        provider = self.provider
        extra: dict[str, Any] = (
            {"endpoint": provider.name} if provider.name != provider.kind else {}
        )
        if self.tools.mcp_servers:
            extra["mcp_servers"] = list(self.tools.mcp_servers)
        return Snapshot(
            id=snapshot_id or self.id,
            provider=provider.kind,
            model=self.conversation.model,
            messages=list(self.conversation.history),
            created_at=self.created_at if snapshot_id is None else now,
            updated_at=now,
            system_prompt=self.conversation.system_prompt,
            tools=self.tools.specs(),
            metadata=dict(self.metadata),
            title=self.title,
            revision=self.revision if revision is None else revision,
            usage=self.usage.as_dict(),
            extra=extra,
        )

    def _begin_turn(self) -> None:
        if self.state is SessionState.CLOSED:
            raise SessionNotFound(self.id)
        if self.state is SessionState.RUNNING:
            raise SessionBusy(self.id)
        self.state = SessionState.RUNNING
        self._idle = anyio.Event()
        self.emit(StatusChanged("running"))

    def _end_turn(self, status: StatusChanged) -> None:
        self._scope = None
        if self.state is SessionState.RUNNING:
            self.state = SessionState.IDLE
        self.last_active = time.monotonic()
        self._idle.set()
        self.emit(status)


def _title_from(message: str) -> str | None:
    first_line = message.strip().splitlines()[0] if message.strip() else ""
    if len(first_line) <= TITLE_LENGTH:
        return first_line or None
    return first_line[: TITLE_LENGTH - 1].rstrip() + "…"
