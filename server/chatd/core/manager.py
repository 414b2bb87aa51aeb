"""All live sessions: creation, lazy resume from the store, autosave, eviction, shutdown.

The session id is the snapshot id. A session that is not in memory but is in the store is
restored on first use, so a client can keep sending to the same id across daemon restarts
and crashes. Every completed or cancelled turn is saved at once (atomically, by the store);
idle sessions are dropped from memory after ``idle_evict_s``, their state already on disk.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Unpack

import anyio

from chatd.config import Settings
from chatd.core.answers import AnswerFormat
from chatd.core.attachments import AttachmentInput, prepare_off_loop
from chatd.core.builder import NewSession, SessionBuilder
from chatd.core.providers import ProviderPool
from chatd.core.providers.base import Provider, TranscriptItem
from chatd.core.providers.transcript import conversion_warnings
from chatd.core.session import Session, SessionState, TurnResult
from chatd.core.store.base import ConversationStore, ListPage, Snapshot, ToolSpec
from chatd.core.tools import ToolRegistry
from chatd.core.tools.host import ToolHost
from chatd.core.tools.service import ToolService
from chatd.errors import (
    ChatdError,
    InvalidParams,
    PersistenceUnsupported,
    ProviderMismatch,
    SessionBusy,
    SessionNotFound,
    SnapshotNotFound,
)

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 10.0
"""How long shutdown waits for cancelled turns to wind down before saving what it has."""


@dataclass(frozen=True, slots=True)
class Restored:
    session: Session
    warnings: list[str] = field(default_factory=list)


class SessionManager:
    def __init__(
        self,
        settings: Settings,
        store: ConversationStore,
        providers: ProviderPool,
        tools: ToolRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.providers = providers
        self.tooling = ToolService(settings, tools)
        self.builder = SessionBuilder(settings, providers, self.tooling)
        self.sessions: dict[str, Session] = {}
        self._resume_lock = anyio.Lock()

    async def new_session(self, **options: Unpack[NewSession]) -> Session:
        """A new live session (see ``SessionBuilder.new``).

        :raises ProviderUnavailable, InvalidParams:
        """
        session = await self.builder.new(**options)
        self.sessions[session.id] = session
        return session

    async def get(self, session_id: str) -> Session:
        """The live session, restored from the store when it is not in memory.

        :raises SessionNotFound, InvalidSnapshotId, DecryptionFailed, CorruptSnapshot:
        """
        live = self.sessions.get(session_id)
        if live is not None:
            return live
        async with self._resume_lock:
            if session_id in self.sessions:
                return self.sessions[session_id]
            try:
                snapshot, provider, history = await anyio.to_thread.run_sync(
                    self._read_checked, session_id
                )
            except SnapshotNotFound:
                raise SessionNotFound(session_id) from None
            return self._register(snapshot, provider, history=history)

    async def send(
        self,
        session_id: str | None,
        message: str,
        *,
        on_session: Callable[[Session], None] | None = None,
        answer: AnswerFormat | None = None,
        record: bool = True,
        attachments: Sequence[AttachmentInput] = (),
    ) -> TurnResult:
        """Run a turn (in a new default session without an id), then autosave; with
        ``answer``, a ``chat/ask`` (``record`` false keeps it out of the history).

        ``on_session`` sees the session before the turn starts, to subscribe to its events.

        :raises MediaRejected, MediaUnsupported: an attachment failed its checks.
        """
        session = await (self.new_session() if session_id is None else self.get(session_id))
        checked = await prepare_off_loop(
            attachments,
            provider=session.provider.name,
            accepted=session.provider.media_types,
            limits=self.settings.attachments,
            workspace=session.workspace,
        )
        if on_session is not None:
            on_session(session)
        return await session.run_turn(
            message, self._autosave, answer=answer, record=record, attachments=checked
        )

    async def save(self, session_id: str, *, fork: bool = False) -> Snapshot:
        """:raises PersistenceUnsupported, StoreConflict:"""
        session = await self.get(session_id)
        if not session.provider.persistent:
            raise PersistenceUnsupported(session.provider.name)
        if fork:
            copy = session.snapshot(snapshot_id=str(uuid.uuid4()), revision=0)
            return await anyio.to_thread.run_sync(self.store.save, copy)
        return await self._save(session)

    async def restore(
        self,
        snapshot_id: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        convert: bool = False,
        tools: Sequence[ToolSpec] | None = None,
        host: ToolHost | None = None,
        mcp_servers: Sequence[str] | None = None,
    ) -> Restored:
        """Attach to a saved conversation, then bind ``host``'s ``tools`` and enable servers.

        :raises SnapshotNotFound, ProviderMismatch, ProviderUnavailable, SessionBusy:
        :raises InvalidParams: a bad tool spec or MCP server name.
        """
        restored = await self._restore(snapshot_id, provider=provider, model=model, convert=convert)
        self.tooling.update(restored.session.tools, tools, host, mcp_servers)
        return restored

    async def _restore(
        self, snapshot_id: str, *, provider: str | None, model: str | None, convert: bool
    ) -> Restored:
        """Attach to a saved conversation, optionally translated into another provider.

        A conversion forks: the translated conversation gets a new id, the original stays.
        A live session moved to another provider that reads its history (or one with no
        history yet) stays the same session (same id, same subscribers); it cannot move
        while a turn runs.

        :raises SnapshotNotFound, ProviderMismatch, ProviderUnavailable, SessionBusy:
        """
        live = self.sessions.get(snapshot_id)
        if live is not None and provider in (None, live.provider.name):
            if model:
                live.conversation.model = model
            return Restored(live)
        if live is not None and live.state is SessionState.RUNNING:
            raise SessionBusy(snapshot_id)
        if live is not None:
            snapshot, source = live.snapshot(), live.provider  # newer than the file, if unsaved
        else:
            snapshot = await anyio.to_thread.run_sync(self.store.load, snapshot_id)
            source = self.providers.for_stamp(*_stamp(snapshot))
        target = self.providers.get(provider) if provider else source
        if (
            target is source
            or target.accepts_snapshot_of(snapshot.provider)
            or not snapshot.messages  # nothing to translate: any provider reads it
        ):
            await target.ready()
            if live is not None:
                return Restored(await self._move(live, target, model))
            return await self._adopt(snapshot, target, model=model)
        if not convert:
            raise ProviderMismatch(snapshot_provider=snapshot.provider, provider=target.name)
        await target.ready()
        items = source.transcript(await _validated(source, snapshot.messages))
        history, own_warnings = target.from_transcript(items, snapshot.system_prompt)
        warnings = conversion_warnings(items, source.name, target.name) + own_warnings
        translated = replace(
            snapshot,
            id=str(uuid.uuid4()),
            messages=history,
            model=model or target.model,
            revision=0,
        )
        ephemeral = live is not None and live.ephemeral
        return Restored(self._register(translated, target, ephemeral=ephemeral), warnings)

    async def cancel(self, session_id: str) -> bool:
        """Whether a running turn was cancelled.

        :raises SessionNotFound, InvalidSnapshotId:
        """
        session = self.sessions.get(session_id)
        if session is None:
            await self._require_stored(session_id)
            return False
        return session.cancel()

    async def close(self, session_id: str) -> None:
        """Save (unless ephemeral) and drop the session from memory.

        :raises SessionNotFound, InvalidSnapshotId:
        """
        session = self.sessions.get(session_id)
        if session is None:
            await self._require_stored(session_id)  # not in memory: nothing to close
            return
        if session.cancel():
            await session.wait_idle()
        if session.dirty and session.persistent:
            await self._save(session)
        self._drop(session)

    async def delete(self, snapshot_id: str) -> None:
        """Forget a conversation: in memory (cancelling its turn) and on disk."""
        session = self.sessions.get(snapshot_id)
        if session is not None:
            if session.cancel():
                await session.wait_idle()
            self._drop(session)
            if session.revision == 0:
                return
        await anyio.to_thread.run_sync(self.store.delete, snapshot_id)

    async def snapshot(self, snapshot_id: str) -> Snapshot:
        """The conversation as it stands: the live session's state, else the stored one.

        :raises SnapshotNotFound, InvalidSnapshotId, DecryptionFailed, CorruptSnapshot:
        """
        live = self.sessions.get(snapshot_id)
        if live is not None:
            return live.snapshot()
        return await anyio.to_thread.run_sync(self.store.load, snapshot_id)

    async def list_snapshots(
        self, *, limit: int, cursor: str | None, provider: str | None
    ) -> ListPage:
        run = partial(self.store.list, limit=limit, cursor=cursor, provider=provider)
        return await anyio.to_thread.run_sync(run)

    async def evict_idle(self, now: float | None = None) -> int:
        """Drop sessions idle for longer than the configured time; returns how many."""
        deadline = (time.monotonic() if now is None else now) - self.settings.daemon.idle_evict_s
        stale = [
            session
            for session in self.sessions.values()
            if session.state is SessionState.IDLE and session.last_active < deadline
        ]
        evicted = 0
        for session in stale:
            if await self._autosave(session) is None:
                self._drop(session)
                evicted += 1
        return evicted

    async def shutdown(self) -> None:
        """Cancel running turns, save every dirty session, close the providers."""
        with anyio.CancelScope(shield=True):
            running = [s for s in self.sessions.values() if s.cancel()]
            with anyio.move_on_after(SHUTDOWN_GRACE_S):
                for session in running:
                    await session.wait_idle()
            for session in list(self.sessions.values()):
                if session.dirty and session.persistent:
                    await self._autosave(session)
            await self.providers.aclose()
            await self.tooling.aclose()

    async def _require_stored(self, session_id: str) -> None:
        if not await anyio.to_thread.run_sync(self.store.exists, session_id):
            raise SessionNotFound(session_id)

    async def _move(self, session: Session, provider: Provider, model: str | None) -> Session:
        """Continue ``session`` on ``provider``, which reads the same native history."""
        history = await _validated(provider, session.conversation.history)
        if session.state is SessionState.RUNNING:  # a turn started while we validated
            raise SessionBusy(session.id)
        session.conversation.history = history
        session.conversation.model = model or session.conversation.model
        session.provider = provider
        session.dirty = True  # the snapshot's provider stamp changes
        return session

    async def _autosave(self, session: Session) -> ChatdError | None:
        """Save if there is something to save; a failure is reported, not raised."""
        if not (session.dirty and session.persistent):
            return None
        try:
            await self._save(session)
        except ChatdError as exc:
            log.warning("could not save session %s: %s", session.id, exc.message)
            return exc
        return None

    async def _save(self, session: Session) -> Snapshot:
        written = await anyio.to_thread.run_sync(self.store.save, session.snapshot())
        session.revision = written.revision
        session.dirty = False
        return written

    def _read_checked(self, session_id: str) -> tuple[Snapshot, Provider, list[Any]]:
        """Read the snapshot, pick its provider, check its history: one trip off the loop
        (each trip wakes a worker thread and then the loop, 0.5-0.7 ms in an idle agent here)."""
        snapshot = self.store.load(session_id)
        provider = self.providers.for_stamp(*_stamp(snapshot))
        return snapshot, provider, provider.validate_history(snapshot.messages)

    async def _adopt(
        self, snapshot: Snapshot, provider: Provider, model: str | None = None
    ) -> Restored:
        history = await _validated(provider, snapshot.messages)
        return Restored(self._register(snapshot, provider, history=history, model=model))

    def _register(
        self,
        snapshot: Snapshot,
        provider: Provider,
        *,
        history: list[object] | None = None,
        model: str | None = None,
        ephemeral: bool = False,
    ) -> Session:
        session = self.builder.from_snapshot(
            snapshot, provider, history=history, model=model, ephemeral=ephemeral
        )
        self.sessions[session.id] = session
        return session

    def _drop(self, session: Session) -> None:
        session.close()
        self.sessions.pop(session.id, None)


async def _validated(provider: Provider, messages: list[Any]) -> list[Any]:
    """Checked off the event loop: it may import an SDK and parse a long history."""
    return await anyio.to_thread.run_sync(provider.validate_history, messages)


def _stamp(snapshot: Snapshot) -> tuple[str, str | None]:
    endpoint = snapshot.extra.get("endpoint")
    return snapshot.provider, endpoint if isinstance(endpoint, str) else None


def history_page(
    items: list[TranscriptItem], cursor: str | None, limit: int
) -> tuple[list[TranscriptItem], str | None]:
    """The ``limit`` items before ``cursor`` (newest page first), in chronological order.

    :raises InvalidParams: the cursor is not one this daemon handed out for this history.
    """
    end = len(items)
    if cursor is not None:
        if not cursor.isdigit() or int(cursor) > len(items):
            raise InvalidParams(f"unknown history cursor {cursor[:40]!r}", field="cursor")
        end = int(cursor)
    start = max(0, end - limit)
    return items[start:end], (str(start) if start > 0 else None)
