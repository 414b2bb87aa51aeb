"""A ``chat/ask`` turn in a session: cancelled, it answers cancelled and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
import pytest

from chatd.config import ProviderSettings
from chatd.core.answers import answer_format
from chatd.core.providers.base import Conversation
from chatd.core.providers.echo import EchoProvider
from chatd.core.session import Session, SessionState, TurnResult
from chatd.core.tools.session_tools import SessionTools

pytestmark = pytest.mark.anyio


async def no_save(_: Session) -> None:
    return None


async def test_a_cancelled_ask_answers_cancelled_and_leaves_the_history() -> None:
    provider = EchoProvider(ProviderSettings(name="echo", kind="echo", delay_ms=50))
    session = Session(
        session_id="s",
        provider=provider,
        conversation=Conversation(model="echo-1", system_prompt="", history=[]),
        tools=SessionTools("s"),
        created_at=datetime.now(UTC),
    )
    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}}
    results: list[TurnResult] = []

    async def ask() -> None:
        answer = answer_format(schema, None)
        results.append(await session.run_turn("q", no_save, answer=answer))

    running = anyio.Event()
    session.listeners.add(lambda _id, _seq, event: running.set())
    async with anyio.create_task_group() as group:
        group.start_soon(ask)
        await running.wait()
        assert session.cancel()

    (result,) = results
    assert result.outcome.stop_reason == "cancelled"
    assert session.conversation.history == [] and not session.dirty
    assert session.state is SessionState.IDLE
