"""Fallback chains through the real daemon, the real SDKs and the fake API server."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatd_client import Client, RpcError
from tests.fakes.provider_server import Call, Fail, FakeProviderServer, Reply
from tests.fakes.wire_checks import problems
from tests.integration.conftest import DaemonEnv
from tests.providers import wire
from tests.providers.test_daemon_providers import kill_hard, provider_config, spawn

pytestmark = pytest.mark.anyio

CHAIN = ["claude", "openai", "gemini"]
WAIT_S = 20.0
SLOW_TIMEOUT_S = 0.5


@pytest.fixture
def daemon_env(tmp_path: Path, fake_server: FakeProviderServer) -> Iterator[DaemonEnv]:
    env = DaemonEnv(tmp_path, tmp_path / "run")
    config = "".join(provider_config(kind, fake_server.url) for kind in CHAIN)
    config += '[providers.dead]\nkind = "claude"\nbase_url = "http://127.0.0.1:9"\n'
    config += 'api_key = "test-key"\nmax_retries = 0\n'
    config += f'[providers.slow]\nkind = "claude"\nbase_url = "{fake_server.url}"\n'
    config += f'api_key = "test-key"\nmax_retries = 0\ntimeout_s = {SLOW_TIMEOUT_S}\n'
    env.config.write_text(f"[fallback]\nproviders = {json.dumps(CHAIN)}\n" + config)
    yield env


class Updates:
    def __init__(self, client: Client) -> None:
        self.seen: list[dict[str, Any]] = []
        self.text = asyncio.Event()
        client.on_notification(self._add)

    def _add(self, method: str, params: Any) -> None:
        if method == "chat/update":
            self.seen.append(params)
            if params["kind"] == "text":
                self.text.set()

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [update for update in self.seen if update["kind"] == kind]


async def turn(client: Client, session_id: str, message: str) -> dict[str, Any]:
    result: dict[str, Any] = await client.request(
        "chat/send", {"sessionId": session_id, "message": message}
    )
    return result


def saved(daemon_env: DaemonEnv, session_id: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((daemon_env.store_dir / f"{session_id}.json").read_text())
    return document


async def test_each_retryable_status_moves_on_with_the_whole_history_converted(
    daemon_env: DaemonEnv, fake_server: FakeProviderServer
) -> None:
    client = await spawn(daemon_env)
    updates = Updates(client)
    try:
        for status in (408, 429, 500, 502, 503, 504, 529):
            created = await client.request("chat/new", {"provider": "claude"})
            assert created["fallback"] == {"providers": CHAIN, "position": 0}
            session_id = created["sessionId"]
            fake_server.script(Reply("from claude"), Fail(status), Reply("from openai"))
            await turn(client, session_id, "first")
            moved = await turn(client, session_id, "second")

            assert moved["text"] == "from openai"
            assert moved["fallback"] == {"from": "claude", "to": "openai", "reason": "status"}
            request = fake_server.requests[-1]
            assert request.wire == "openai"
            assert wire.turns(request) == [
                ("user", "first"),
                ("assistant", "from claude"),
                ("user", "second"),
            ]
            assert problems(request) == []
            document = saved(daemon_env, session_id)
            assert document["provider"] == "openai"
            assert document["fallback"] == {"providers": CHAIN, "position": 1}
    finally:
        await client.close()
    notes = updates.of("fallback")
    assert len(notes) == 7
    assert notes[0] | {"seq": 0, "sessionId": ""} == {
        "seq": 0,
        "sessionId": "",
        "kind": "fallback",
        "from": "claude",
        "to": "openai",
        "reason": "status",
    }
    log = client.stderr_text()
    assert "chat provider failover: claude -> openai (reason: status)" in log
    assert "scripted failure" not in log and "test-key" not in log


async def test_an_ask_falls_back_too_and_its_answer_is_validated_there(
    daemon_env: DaemonEnv, fake_server: FakeProviderServer
) -> None:
    fake_server.script(Fail(503), Reply('{"ok": true}'))
    client = await spawn(daemon_env)
    try:
        created = await client.request("chat/new", {"provider": "claude"})
        schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
        params = {"sessionId": created["sessionId"], "message": "ok?", "schema": schema}
        answer = await client.request("chat/ask", params)
    finally:
        await client.close()
    assert answer["value"] == {"ok": True}
    assert answer["fallback"] == {"from": "claude", "to": "openai", "reason": "status"}
    assert fake_server.requests[-1].body["response_format"]["type"] == "json_schema"


@pytest.mark.parametrize("status", [400, 401])
async def test_a_client_error_is_the_turns_own(
    status: int, daemon_env: DaemonEnv, fake_server: FakeProviderServer
) -> None:
    fake_server.script(Fail(status))
    client = await spawn(daemon_env)
    try:
        created = await client.request("chat/new", {"provider": "claude"})
        with pytest.raises(RpcError) as failed:
            await turn(client, created["sessionId"], "hi")
    finally:
        await client.close()
    assert failed.value.data["status"] == status
    assert [request.wire for request in fake_server.requests] == ["anthropic"]


async def test_a_connection_error_moves_on_and_says_network(
    daemon_env: DaemonEnv, fake_server: FakeProviderServer
) -> None:
    fake_server.script(Reply("openai here"))
    client = await spawn(daemon_env)
    try:
        created = await client.request(
            "chat/new", {"provider": "dead", "fallback": ["dead", "openai"]}
        )
        answer = await turn(client, created["sessionId"], "hi")
        off = await client.request("chat/new", {"provider": "claude", "fallback": []})
        fake_server.script(Fail(503))
        with pytest.raises(RpcError):
            await turn(client, off["sessionId"], "hi")
    finally:
        await client.close()
    assert created["fallback"] == {"providers": ["dead", "openai"], "position": 0}
    assert answer["fallback"] == {"from": "dead", "to": "openai", "reason": "network"}
    assert "fallback" not in off
    assert [request.wire for request in fake_server.requests] == ["openai", "anthropic"]


async def test_a_timeout_before_any_output_moves_on_and_says_timeout(
    daemon_env: DaemonEnv, fake_server: FakeProviderServer
) -> None:
    """The stream opens, then stalls past the read timeout before its first text."""
    fake_server.script(Reply(["never", "seen"], delay_s=SLOW_TIMEOUT_S * 4), Reply("openai here"))
    client = await spawn(daemon_env)
    updates = Updates(client)
    try:
        created = await client.request(
            "chat/new", {"provider": "slow", "fallback": ["slow", "openai"]}
        )
        answer = await turn(client, created["sessionId"], "hi")
    finally:
        await client.close()
    assert answer["text"] == "openai here"
    assert answer["fallback"] == {"from": "slow", "to": "openai", "reason": "timeout"}
    assert [update["text"] for update in updates.of("text")] == ["openai here"]
    assert [request.wire for request in fake_server.requests] == ["anthropic", "openai"]


async def test_no_fallback_after_output_streamed_or_a_tool_ran(
    daemon_env: DaemonEnv, fake_server: FakeProviderServer
) -> None:
    fake_server.script(Reply(["partial ", "answer"], break_after=4))
    fake_server.script(Reply(calls=[Call("lookup", {}, id="toolu_1")]), Fail(500))
    client = await spawn(daemon_env)
    try:
        created = await client.request("chat/new", {"provider": "claude"})
        with pytest.raises(RpcError) as streamed:
            await turn(client, created["sessionId"], "hi")
        with pytest.raises(RpcError) as after_tool:
            await turn(client, created["sessionId"], "use a tool")
    finally:
        await client.close()
    assert streamed.value.data["retryable"] and after_tool.value.data["status"] == 500
    assert {request.wire for request in fake_server.requests} == {"anthropic"}


async def test_a_restored_session_keeps_its_chain_and_position(
    daemon_env: DaemonEnv, fake_server: FakeProviderServer
) -> None:
    fake_server.script(Fail(500), Reply("openai answers"))
    client = await spawn(daemon_env)
    try:
        created = await client.request("chat/new", {"provider": "claude"})
        session_id = created["sessionId"]
        await turn(client, session_id, "one")
    finally:
        await client.close()

    fake_server.script(Fail(503), Reply("gemini answers"))
    client = await spawn(daemon_env)
    try:
        restored = await client.request("chat/restore", {"snapshotId": session_id})
        moved = await turn(client, session_id, "two")
    finally:
        await client.close()
    assert restored["provider"] == "openai"
    assert restored["fallback"] == {"providers": CHAIN, "position": 1}
    assert moved["fallback"] == {"from": "openai", "to": "gemini", "reason": "status"}
    assert wire.turns(fake_server.requests[-1]) == [
        ("user", "one"),
        ("assistant", "openai answers"),
        ("user", "two"),
    ]
    assert saved(daemon_env, session_id)["fallback"]["position"] == 2


async def test_kill_9_mid_fallback_leaves_a_valid_history(
    daemon_env: DaemonEnv, fake_server: FakeProviderServer
) -> None:
    hold = threading.Event()
    fake_server.script(Reply("kept"), Fail(500), Reply(["never ", "finished"], hold=hold))
    client = await spawn(daemon_env)
    updates = Updates(client)
    try:
        created = await client.request("chat/new", {"provider": "claude"})
        session_id = created["sessionId"]
        await turn(client, session_id, "first")
        updates.text.clear()
        pending = asyncio.ensure_future(turn(client, session_id, "second"))
        await asyncio.wait_for(updates.text.wait(), WAIT_S)
        assert updates.of("fallback")
        kill_hard(client)
        hold.set()
        with pytest.raises(Exception):  # noqa: B017 - the connection is gone, any way it ends
            await pending
    finally:
        await client.close()

    fake_server.script(Reply("back"))
    client = await spawn(daemon_env)
    try:
        answer = await turn(client, session_id, "third")
    finally:
        await client.close()
    assert answer["text"] == "back"
    request = fake_server.requests[-1]
    assert request.wire == "anthropic"
    assert wire.turns(request) == [("user", "first"), ("assistant", "kept"), ("user", "third")]
    assert problems(request) == []
