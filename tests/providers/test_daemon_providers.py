"""Real providers through the real daemon: save, kill -9, restart, continue natively.

The daemon talks to the fake API server with the real SDKs; the fake records what a later
daemon process sends, which must be the earlier turns in the provider's own format, tool
calls, tool results and thinking signatures included.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatd_client import Client, RpcError
from tests.fakes.provider_server import Call, Fail, FakeProviderServer, Reply, Thought
from tests.fakes.wire_checks import problems
from tests.integration.conftest import DaemonEnv
from tests.providers import wire

pytestmark = pytest.mark.anyio

DAEMON_KINDS = ("claude", "openai", "openai-compatible", "gemini")


def provider_config(kind: str, url: str) -> str:
    base_url = url + "/v1" if kind.startswith("openai") else url
    lines = [
        f"[providers.{kind}]",
        f'base_url = "{base_url}"',
        'api_key = "test-key"',
        "max_retries = 0",
    ]
    if kind == "openai-compatible":
        lines.append('model = "local-model"')
    return "\n".join(lines) + "\n"


@pytest.fixture
def daemon_env(tmp_path: Path, fake_server: FakeProviderServer) -> Iterator[DaemonEnv]:
    socket_dir = tmp_path / "run"
    env = DaemonEnv(tmp_path, socket_dir)
    env.config.write_text("".join(provider_config(kind, fake_server.url) for kind in DAEMON_KINDS))
    yield env


async def spawn(daemon_env: DaemonEnv) -> Client:
    client = await Client.spawn_stdio(env=daemon_env.env())
    await client.initialize("pytest")
    return client


def kill_hard(client: Client) -> None:
    assert client.process is not None
    os.kill(client.process.pid, signal.SIGKILL)


def first_turn(kind: str) -> list[Reply]:
    thoughts = [Thought("Use the tool.", "c2lnbmF0dXJl")] if kind in ("claude", "gemini") else []
    call = Call("get_weather", {"city": "Paris"}, id="call_1", signature="Y2FsbC1zaWc=")
    return [Reply("Let me check.", thoughts=thoughts, calls=[call]), Reply("I could not look.")]


@pytest.mark.parametrize("kind", DAEMON_KINDS)
async def test_saved_conversation_continues_natively_after_kill_9(
    kind: str, daemon_env: DaemonEnv, fake_server: FakeProviderServer
) -> None:
    fake_server.script(*first_turn(kind))
    client = await spawn(daemon_env)
    try:
        created = await client.request(
            "chat/new", {"provider": kind, "systemPrompt": "You are terse."}
        )
        session_id = created["sessionId"]
        answer = await client.request(
            "chat/send", {"sessionId": session_id, "message": "Weather in Paris?"}
        )
        assert answer["stopReason"] == "end_turn"
        await client.request("chat/save", {"sessionId": session_id})
        kill_hard(client)
    finally:
        await client.close()
    tool_step = fake_server.requests[1]

    fake_server.script(Reply("You're welcome."))
    client = await spawn(daemon_env)
    try:
        result = await client.request("chat/send", {"sessionId": session_id, "message": "Thanks"})
        history = await client.request("chat/history", {"sessionId": session_id})
    finally:
        await client.close()

    assert result["text"] == "You're welcome."
    resumed = fake_server.requests[2]
    assert problems(resumed) == []
    assert wire.system_prompt(resumed) == "You are terse."
    earlier = _conversation(tool_step)
    assert _conversation(resumed)[: len(earlier)] == earlier
    assert wire.turns(resumed) == [
        ("user", "Weather in Paris?"),
        ("assistant", "Let me check."),
        ("assistant", "I could not look."),
        ("user", "Thanks"),
    ]
    results = wire.tool_results(resumed)
    assert len(results) == 1 and results[0][2] and "unknown tool" in results[0][1]
    if kind in ("claude", "gemini"):
        assert wire.signatures(resumed) == wire.signatures(tool_step) != []
    roles = [item["role"] for item in history["items"]]
    assert roles[:4] == ["user", "assistant", "tool", "assistant"]


async def test_missing_key_fails_at_chat_new_naming_the_variable(
    daemon_env: DaemonEnv, fake_server: FakeProviderServer
) -> None:
    daemon_env.config.write_text(
        f'[providers.claude]\nbase_url = "{fake_server.url}"\napi_key_env = "TEAM_CLAUDE_KEY"\n'
    )
    client = await spawn(daemon_env)
    try:
        with pytest.raises(RpcError) as caught:
            await client.request("chat/new", {"provider": "claude"})
    finally:
        await client.close()
    assert "TEAM_CLAUDE_KEY" in caught.value.message
    assert fake_server.requests == []


@pytest.mark.parametrize("kind", DAEMON_KINDS)
async def test_provider_failure_reaches_the_client_with_its_details(
    daemon_env: DaemonEnv, fake_server: FakeProviderServer, kind: str
) -> None:
    fake_server.script(Fail(429, "slow down"))
    client = await spawn(daemon_env)
    try:
        created = await client.request("chat/new", {"provider": kind})
        with pytest.raises(RpcError) as caught:
            await client.request("chat/send", {"sessionId": created["sessionId"], "message": "hi"})
    finally:
        await client.close()
    data = caught.value.data
    assert (data["status"], data["retryable"], data["provider"]) == (429, True, kind)
    assert "test-key" not in str(caught.value.message) + str(data)


async def test_restore_converts_between_providers_with_warnings(
    daemon_env: DaemonEnv, fake_server: FakeProviderServer
) -> None:
    fake_server.script(*first_turn("claude"), Reply("Converted fine."))
    client = await spawn(daemon_env)
    try:
        created = await client.request("chat/new", {"provider": "claude"})
        session_id = created["sessionId"]
        await client.request("chat/send", {"sessionId": session_id, "message": "Weather?"})
        await client.request("chat/save", {"sessionId": session_id})
        with pytest.raises(RpcError):
            await client.request("chat/restore", {"snapshotId": session_id, "provider": "gemini"})
        restored = await client.request(
            "chat/restore", {"snapshotId": session_id, "provider": "gemini", "convert": True}
        )
        answer = await client.request(
            "chat/send", {"sessionId": restored["sessionId"], "message": "And now?"}
        )
    finally:
        await client.close()
    assert restored["warnings"] == [
        "converted from claude into gemini: dropped 1 thinking block, 1 signature"
    ]
    assert answer["text"] == "Converted fine."
    converted = fake_server.requests[-1]
    assert converted.wire == "gemini" and problems(converted) == []
    assert ("user", "Weather?") in wire.turns(converted)


def _conversation(request: Any) -> list[Any]:
    body = request.body
    return list(body["contents"] if request.wire == "gemini" else body["messages"])
