"""Sessions driven from plain pytest: no transport, a real FileStore, the echo provider."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import anyio
import pytest

from chatd.config import Settings, load_settings
from chatd.core.events import StatusChanged, TextDelta, TurnEvent
from chatd.core.manager import SessionManager, history_page
from chatd.core.providers import ProviderPool
from chatd.core.providers.base import Conversation, Emit, Provider, StepResult, TranscriptItem
from chatd.core.providers.echo import EchoProvider
from chatd.core.session import Session
from chatd.core.store.filestore import FileStore
from chatd.errors import (
    InvalidParams,
    ProviderFailure,
    SessionBusy,
    SessionNotFound,
    StoreConflict,
)

pytestmark = pytest.mark.anyio


def settings(tmp_path: Path, **env: str) -> Settings:
    return load_settings(environ={"CHATD_CONFIG": str(config(tmp_path)), **env})


def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.touch()
    return path


def manager(tmp_path: Path, **env: str) -> SessionManager:
    current = settings(tmp_path, **env)
    return SessionManager(current, FileStore(tmp_path / "store"), ProviderPool(current.providers))


async def test_turns_are_saved_and_resume_in_a_new_manager(tmp_path: Path) -> None:
    first = manager(tmp_path)
    result = await first.send(None, "one")
    assert (result.outcome.text, result.session.revision) == ("[1] one", 1)
    session_id = result.session.id

    second = manager(tmp_path)
    again = await second.send(session_id, "two")
    assert again.outcome.text == "[2] two"
    assert again.session.revision == 2


async def test_events_are_numbered_per_session(tmp_path: Path) -> None:
    sessions = manager(tmp_path)
    seen: list[tuple[int, TurnEvent]] = []
    session = await sessions.new_session()
    session.listeners.add(lambda _id, seq, event: seen.append((seq, event)))
    await sessions.send(session.id, "hello")
    assert [seq for seq, _ in seen] == list(range(1, len(seen) + 1))
    assert seen[0][1] == StatusChanged("running")
    assert seen[-1][1] == StatusChanged("idle", "end_turn")
    assert "".join(e.text for _, e in seen if isinstance(e, TextDelta)) == "[1] hello"


async def test_cancel_keeps_partial_text_as_a_valid_history(tmp_path: Path) -> None:
    sessions = manager(tmp_path, CHATD_ECHO_DELAY_MS="100")
    session = await sessions.new_session()
    started = first_text(session)
    outcome: list[Any] = []
    async with anyio.create_task_group() as group:
        group.start_soon(lambda: _collect(sessions.send(session.id, "abcdefghijkl"), outcome))
        await started.wait()
        assert session.cancel()
    result = outcome[0]
    assert result.outcome.stop_reason == "cancelled"
    assert result.outcome.text == "[1] "
    assert session.conversation.history == [
        {"role": "user", "content": "abcdefghijkl"},
        {"role": "assistant", "content": "[1] "},
    ]
    assert result.session.revision == 1


async def test_cancel_before_any_output_leaves_no_trace(tmp_path: Path) -> None:
    sessions = manager(tmp_path)
    session = await sessions.new_session()
    session.provider = StalledProvider(session.provider.settings)
    outcome: list[Any] = []
    async with anyio.create_task_group() as group:
        group.start_soon(lambda: _collect(sessions.send(session.id, "hello"), outcome))
        await anyio.sleep(0.05)
        session.cancel()
    assert outcome[0].outcome.stop_reason == "cancelled"
    assert session.conversation.history == []


async def test_failed_turn_rolls_history_back(tmp_path: Path) -> None:
    sessions = manager(tmp_path)
    session = await sessions.new_session()
    await sessions.send(session.id, "fine")
    before = list(session.conversation.history)
    session.provider = FailingProvider(session.provider.settings)
    with pytest.raises(ProviderFailure):
        await sessions.send(session.id, "doomed")
    assert session.conversation.history == before
    assert session.state.value == "idle"


async def test_a_second_turn_while_running_is_busy(tmp_path: Path) -> None:
    sessions = manager(tmp_path, CHATD_ECHO_DELAY_MS="50")
    session = await sessions.new_session()
    outcome: list[Any] = []
    async with anyio.create_task_group() as group:
        group.start_soon(lambda: _collect(sessions.send(session.id, "long message"), outcome))
        await anyio.sleep(0.01)
        with pytest.raises(SessionBusy):
            await sessions.send(session.id, "again")
    assert outcome[0].outcome.text == "[1] long message"


async def test_two_daemons_on_one_store_conflict_instead_of_overwriting(tmp_path: Path) -> None:
    first, second = manager(tmp_path), manager(tmp_path)
    session_id = (await first.send(None, "start")).session.id
    await second.get(session_id)
    await first.send(session_id, "first wins")
    late = await second.send(session_id, "second loses")
    assert isinstance(late.save_error, StoreConflict)
    assert late.session.dirty
    reloaded = FileStore(tmp_path / "store").load(session_id)
    assert reloaded.messages[-1] == {"role": "assistant", "content": "[2] first wins"}


async def test_idle_sessions_are_evicted_after_saving(tmp_path: Path) -> None:
    sessions = manager(tmp_path)
    session_id = (await sessions.send(None, "x")).session.id
    assert await sessions.evict_idle(now=10**12) == 1
    assert sessions.sessions == {}
    assert (await sessions.send(session_id, "y")).outcome.text == "[2] y"


async def test_unknown_session(tmp_path: Path) -> None:
    with pytest.raises(SessionNotFound):
        await manager(tmp_path).get("00000000-0000-4000-8000-000000000000")


def test_threads_asking_for_one_provider_at_once_share_one_adapter(tmp_path: Path) -> None:
    """A session restored off the loop picks its provider on a worker thread."""
    pool = ProviderPool(settings(tmp_path).providers)
    start = threading.Barrier(8)

    def build() -> Provider:
        start.wait()
        return pool.get("echo")

    with ThreadPoolExecutor(max_workers=8) as threads:
        built = list(threads.map(lambda _: build(), range(8)))
    assert all(adapter is pool.get("echo") for adapter in built)


def test_history_pages_walk_back_from_the_newest() -> None:
    items = [TranscriptItem(role="user", text=str(i)) for i in range(5)]
    page, cursor = history_page(items, None, 2)
    assert [i.text for i in page] == ["3", "4"] and cursor == "3"
    page, cursor = history_page(items, cursor, 2)
    assert [i.text for i in page] == ["1", "2"] and cursor == "1"
    page, cursor = history_page(items, cursor, 2)
    assert [i.text for i in page] == ["0"] and cursor is None
    for bad in ("x", "6", "-1"):
        with pytest.raises(InvalidParams):
            history_page(items, bad, 2)


def first_text(session: Session) -> anyio.Event:
    """Set once ``session`` streams its first text delta."""
    started = anyio.Event()
    session.listeners.add(
        lambda _id, _seq, event: started.set() if isinstance(event, TextDelta) else None
    )
    return started


async def _collect(awaitable: Any, into: list[Any]) -> None:
    into.append(await awaitable)


class StalledProvider(EchoProvider):
    """A provider whose server never answers."""

    async def step(self, conversation: Conversation, emit: Emit) -> StepResult:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")


class FailingProvider(EchoProvider):
    """A provider whose server answers 500 after streaming a little."""

    kind: ClassVar[str] = "echo"

    async def step(self, conversation: Conversation, emit: Emit) -> StepResult:
        emit(TextDelta("partial"))
        raise ProviderFailure("server error", provider="echo", status=500, retryable=True)


def two_echoes(tmp_path: Path, **env: str) -> SessionManager:
    """Providers ``echo`` and ``other``, which reads the same native history."""
    path = config(tmp_path)
    path.write_text('[providers.other]\nkind = "echo"\n')
    current = settings(tmp_path, **env)
    return SessionManager(current, FileStore(tmp_path / "store"), ProviderPool(current.providers))


async def test_a_live_session_moves_to_a_provider_that_reads_its_history_in_place(
    tmp_path: Path,
) -> None:
    sessions = two_echoes(tmp_path)
    session = (await sessions.send(None, "one")).session
    seen: list[TurnEvent] = []
    session.listeners.add(lambda _id, _seq, event: seen.append(event))

    restored = await sessions.restore(session.id, provider="other")
    again = await sessions.send(session.id, "two")

    assert restored.session is session and sessions.sessions == {session.id: session}
    assert session.provider.name == "other"
    assert again.outcome.text == "[2] two"
    assert StatusChanged("idle", "end_turn") in seen
    assert FileStore(tmp_path / "store").load(session.id).extra == {"endpoint": "other"}


async def test_a_live_session_cannot_change_provider_while_its_turn_runs(tmp_path: Path) -> None:
    sessions = two_echoes(tmp_path, CHATD_ECHO_DELAY_MS="50")
    session = await sessions.new_session()
    started = first_text(session)
    outcome: list[Any] = []
    async with anyio.create_task_group() as group:
        group.start_soon(lambda: _collect(sessions.send(session.id, "long message"), outcome))
        await started.wait()
        with pytest.raises(SessionBusy):
            await sessions.restore(session.id, provider="other")
    assert session.provider.name == "echo"
    assert outcome[0].outcome.stop_reason == "end_turn"


async def test_cancel_and_close_of_a_saved_session_do_not_load_it(tmp_path: Path) -> None:
    session_id = (await manager(tmp_path).send(None, "one")).session.id
    sessions = manager(tmp_path)

    assert await sessions.cancel(session_id) is False
    await sessions.close(session_id)

    assert sessions.sessions == {}
    unknown = "0b8f3c1e-5d2a-4c8e-9a51-2f6d7e8a9b10"
    with pytest.raises(SessionNotFound):
        await sessions.cancel(unknown)
    with pytest.raises(SessionNotFound):
        await sessions.close(unknown)
