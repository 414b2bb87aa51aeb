"""``ask`` tools: the attached client decides; ``*_always`` answers outlive the daemon."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from chatd_client import Client, Toolbox
from tests.fakes.provider_server import Call, FakeProviderServer, Reply
from tests.integration.conftest import DaemonEnv
from tests.providers import wire
from tests.tools.conftest import spawn

pytestmark = pytest.mark.anyio

WORKSPACE = "/srv/project"


class Edits:
    """An ``apply_edit`` tool that asks first, and a scripted user answering the question."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[Mapping[str, Any]] = []
        self.applied: list[str] = []
        self.toolbox = Toolbox()

        @self.toolbox.tool(approval="ask")
        def apply_edit(path: str) -> str:
            """Change a file."""
            self.applied.append(path)
            return f"edited {path}"

    async def approve(self, params: Mapping[str, Any]) -> Any:
        self.asked.append(params)
        return self.answers.pop(0)

    async def turn(self, client: Client, fake_server: FakeProviderServer, path: str) -> Any:
        self.toolbox.serve(client, approve=self.approve)
        updates: list[Any] = []
        client.on_notification(lambda method, params: updates.append(params))
        session = await client.chat_new(
            provider="claude", tools=self.toolbox.specs(), workspace=WORKSPACE
        )
        fake_server.script(Reply(calls=[Call("apply_edit", {"path": path})]), Reply("done"))
        await client.chat_send("edit it", session_id=session["sessionId"])
        decided = [u["decision"] for u in updates if u["kind"] == "tool_approval"]
        return wire.tool_results(fake_server.requests[-1])[-1][1:], decided


async def test_allow_once_runs_the_call_and_asks_again_next_time(
    client: Client, fake_server: FakeProviderServer
) -> None:
    edits = Edits("allow_once", "allow_once")
    result, decided = await edits.turn(client, fake_server, "a.py")
    await edits.turn(client, fake_server, "b.py")

    assert result == ("edited a.py", False)
    assert decided == ["allow_once"]
    assert edits.applied == ["a.py", "b.py"] and len(edits.asked) == 2
    assert edits.asked[0]["options"] == [
        "allow_once",
        "allow_always",
        "reject_once",
        "reject_always",
    ]
    assert edits.asked[0]["arguments"] == {"path": "a.py"}


async def test_reject_gives_the_model_an_error_and_never_runs(
    client: Client, fake_server: FakeProviderServer
) -> None:
    edits = Edits("reject_once")
    result, decided = await edits.turn(client, fake_server, "a.py")
    assert result == ("the user rejected this call", True)
    assert decided == ["reject_once"] and edits.applied == []


async def test_allow_always_is_remembered_across_a_daemon_restart_until_revoked(
    daemon_env: DaemonEnv, fake_server: FakeProviderServer
) -> None:
    edits = Edits("allow_always", "reject_once")
    client = await spawn(daemon_env)
    try:
        await edits.turn(client, fake_server, "a.py")
    finally:
        await client.close()
    client = await spawn(daemon_env)
    try:
        result, decided = await edits.turn(client, fake_server, "b.py")
        listed = await client.request("tools/policy/list", {"workspace": WORKSPACE})
        revoked = await client.request(
            "tools/policy/revoke", {"workspace": WORKSPACE, "tool": "apply_edit"}
        )
        after, _ = await edits.turn(client, fake_server, "c.py")
    finally:
        await client.close()

    assert result == ("edited b.py", False) and decided == ["allow_always"]
    assert listed["policies"] == [
        {"workspace": WORKSPACE, "tool": "apply_edit", "decision": "allow_always"}
    ]
    assert revoked == {"revoked": True}
    assert after == ("the user rejected this call", True)
    assert len(edits.asked) == 2 and edits.applied == ["a.py", "b.py"]


async def test_no_client_able_to_answer_is_a_rejection_not_a_hang(
    client: Client, fake_server: FakeProviderServer
) -> None:
    toolbox = Toolbox()

    @toolbox.tool(approval="ask")
    def wipe() -> str:
        """Delete everything."""
        raise AssertionError("must not run")

    toolbox.serve(client)  # answers tool/call, but not tool/approve (-32601)
    session = await client.chat_new(provider="gemini", tools=toolbox.specs())
    fake_server.script(Reply(calls=[Call("wipe", {})]), Reply("ok"))
    answer = await client.chat_send("go", session_id=session["sessionId"])

    assert answer["text"] == "ok"
    text, is_error = wire.tool_results(fake_server.requests[-1])[-1][1:]
    assert is_error and text.startswith("the user rejected this call")
