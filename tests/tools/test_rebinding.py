"""Tools outlive their handlers: restore without re-registering, re-bind, cancel mid-call."""

from __future__ import annotations

import asyncio

import pytest

from chatd_client import Toolbox
from tests.fakes.provider_server import Call, FakeProviderServer, Reply
from tests.fakes.wire_checks import problems
from tests.integration.conftest import DaemonEnv
from tests.providers import wire
from tests.tools.conftest import spawn

pytestmark = pytest.mark.anyio


def lookup_box(answers: list[str]) -> Toolbox:
    toolbox = Toolbox()

    @toolbox.tool
    def lookup(term: str) -> str:
        """Look a term up."""
        answers.append(term)
        return f"{term}: found"

    return toolbox


async def test_restored_tools_are_unavailable_until_a_connection_registers_them(
    daemon_env: DaemonEnv, fake_server: FakeProviderServer
) -> None:
    answers: list[str] = []
    fake_server.script(Reply(calls=[Call("lookup", {"term": "a"}, id="t1")]), Reply("first"))
    client = await spawn(daemon_env)
    try:
        lookup_box(answers).serve(client)
        specs = lookup_box(answers).specs()
        session_id = (await client.chat_new(provider="claude", tools=specs))["sessionId"]
        await client.chat_send("one", session_id=session_id)
    finally:
        await client.close()  # the daemon saves and exits

    fake_server.script(Reply(calls=[Call("lookup", {"term": "b"}, id="t2")]), Reply("second"))
    client = await spawn(daemon_env)
    try:
        answer = await client.chat_send("two", session_id=session_id)  # lazily resumed
        listed = await client.request("tools/list", {"sessionId": session_id})
        toolbox = lookup_box(answers)
        toolbox.serve(client)
        fake_server.script(Reply(calls=[Call("lookup", {"term": "c"}, id="t3")]), Reply("third"))
        await client.chat_restore(session_id, tools=toolbox.specs())
        await client.chat_send("three", session_id=session_id)
    finally:
        await client.close()

    assert answer["text"] == "second"
    assert [tool["available"] for tool in listed["tools"]] == [False]
    unavailable = fake_server.requests[3]
    assert [t["name"] for t in unavailable.body["tools"]] == ["lookup"]
    text, is_error = wire.tool_results(unavailable)[-1][1:]
    assert is_error and text == "tool lookup is not available right now"
    assert problems(unavailable) == []
    rebound = fake_server.requests[5]
    assert wire.tool_results(rebound)[-1][1:] == ("c: found", False)
    assert answers == ["a", "c"]


async def test_cancelling_the_turn_cancels_the_pending_tool_call(
    daemon_env: DaemonEnv, fake_server: FakeProviderServer
) -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()
    toolbox = Toolbox()

    @toolbox.tool
    async def build(target: str) -> str:
        """Run a long build."""
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "built"

    client = await spawn(daemon_env)
    try:
        toolbox.serve(client)
        session_id = (await client.chat_new(provider="openai", tools=toolbox.specs()))["sessionId"]
        fake_server.script(Reply(calls=[Call("build", {"target": "all"}, id="b1")]))
        turn = asyncio.create_task(client.chat_send("build it", session_id=session_id))
        await asyncio.wait_for(started.wait(), 10)
        assert await client.chat_cancel(session_id)
        answer = await asyncio.wait_for(turn, 10)
        await asyncio.wait_for(cancelled.wait(), 10)
        fake_server.script(Reply("next"))
        after = await client.chat_send("and now?", session_id=session_id)
    finally:
        await client.close()

    assert answer["stopReason"] == "cancelled"
    assert after["text"] == "next"
    following = fake_server.requests[-1]
    assert problems(following) == []
    ((call_id, text, is_error),) = wire.tool_results(following)
    assert call_id == "b1" and is_error and "cancelled" in text
