"""MCP servers as tools, with a real MCP server (``tests/fakes/mcp_server.py``) over stdio."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.fakes.provider_server import Call, FakeProviderServer, Reply
from tests.integration.conftest import DaemonEnv
from tests.providers import wire
from tests.tools.conftest import provider_config, spawn

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).parents[2]
SECRET = "hunter2-do-not-log"


def mcp_config(daemon_env: DaemonEnv, url: str, *, default: bool = False) -> Path:
    starts = daemon_env.root / "mcp-starts.txt"
    servers = {
        "calc": {
            "command": sys.executable,
            "args": ["-m", "tests.fakes.mcp_server"],
            "cwd": str(ROOT),
            "env": {"CHATD_TEST_MCP_SECRET": SECRET, "MCP_TEST_STARTS": str(starts)},
        },
        "broken": {"command": str(daemon_env.root / "no-such-server")},
    }
    lines = [provider_config(url), "[mcp]"]
    lines.append(f"default_servers = {json.dumps(['calc'] if default else [])}")
    for name, table in servers.items():
        lines.append(f"[mcp.servers.{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in table.items() if key != "env"]
        if "env" in table:
            lines.append(f"[mcp.servers.{name}.env]")
            lines += [f"{key} = {json.dumps(value)}" for key, value in table["env"].items()]
    daemon_env.config.write_text("\n".join(lines) + "\n")
    return starts


def last_results(fake_server: FakeProviderServer) -> list[tuple[str, bool]]:
    return [(text, error) for _, text, error in wire.tool_results(fake_server.requests[-1])]


async def test_mcp_tools_are_listed_and_called_with_arguments(
    daemon_env: DaemonEnv, fake_server: FakeProviderServer
) -> None:
    mcp_config(daemon_env, fake_server.url, default=True)
    fake_server.script(
        Reply(
            calls=[
                Call("calc__add", {"a": 2, "b": 40}, id="m1"),
                Call("calc__fail", {"reason": "out of paper"}, id="m2"),
                Call("calc__secret", {}, id="m3"),
            ]
        ),
        Reply("42"),
    )
    client = await spawn(daemon_env)
    try:
        session = await client.chat_new(provider="gemini")
        listed = await client.request("tools/list", {"sessionId": session["sessionId"]})
        await client.chat_send("sum?", session_id=session["sessionId"])
    finally:
        await client.close()

    tools = {tool["name"]: tool for tool in listed["tools"]}
    assert set(tools) == {
        f"calc__{name}" for name in ("add", "crash", "fail", "header", "secret", "shout")
    }
    assert tools["calc__add"]["source"] == "mcp:calc" and tools["calc__add"]["available"]
    assert tools["calc__add"]["parameters"]["required"] == ["a", "b"]
    assert listed["servers"] == [{"name": "calc", "state": "running", "error": None}]
    added, failed, secret = last_results(fake_server)
    assert added == ("42", False)
    assert failed[1] and "out of paper" in failed[0]
    assert secret == ("present", False)
    stored = b"".join(path.read_bytes() for path in daemon_env.store_dir.glob("*.json"))
    logged = client.stderr_text()
    assert SECRET not in logged and SECRET.encode() not in stored


async def test_a_resumed_session_calls_its_mcp_tools_after_kill_9_without_re_registering(
    daemon_env: DaemonEnv, fake_server: FakeProviderServer
) -> None:
    mcp_config(daemon_env, fake_server.url)
    fake_server.script(Reply(calls=[Call("calc__shout", {"text": "one"})]), Reply("ONE"))
    client = await spawn(daemon_env)
    try:
        session_id = (await client.chat_new(provider="claude", mcp_servers=["calc"]))["sessionId"]
        await client.chat_send("first", session_id=session_id)
        assert client.process is not None
        os.kill(client.process.pid, signal.SIGKILL)
    finally:
        await client.close()

    fake_server.script(Reply(calls=[Call("calc__shout", {"text": "two"})]), Reply("TWO"))
    client = await spawn(daemon_env)
    try:
        answer = await client.chat_send("second", session_id=session_id)
    finally:
        await client.close()
    assert answer["text"] == "TWO"
    assert last_results(fake_server)[-1] == ("TWO", False)
    assert "calc__shout" in [tool["name"] for tool in fake_server.requests[-1].body["tools"]]


async def test_a_crashed_server_is_restarted_and_one_that_never_starts_says_why(
    daemon_env: DaemonEnv, fake_server: FakeProviderServer
) -> None:
    starts = mcp_config(daemon_env, fake_server.url)
    fake_server.script(
        Reply(calls=[Call("calc__crash", {}, id="c1")]),
        Reply(calls=[Call("calc__add", {"a": 1, "b": 1}, id="c2")]),
        Reply("2"),
    )
    client = await spawn(daemon_env)
    try:
        session = await client.chat_new(provider="openai", mcp_servers=["calc", "broken"])
        await client.chat_send("crash, then add", session_id=session["sessionId"])
        listed = await client.request("tools/list", {"sessionId": session["sessionId"]})
    finally:
        await client.close()

    crashed = wire.tool_results(fake_server.requests[1])[-1]
    assert crashed[2] and "stopped during the call" in crashed[1]
    assert last_results(fake_server)[-1] == ("2", False)
    assert starts.read_text().count("start") == 2
    broken = next(server for server in listed["servers"] if server["name"] == "broken")
    assert broken["state"] == "failed" and "did not start" in broken["error"]


async def test_an_mcp_server_over_streamable_http(
    daemon_env: DaemonEnv, fake_server: FakeProviderServer, http_mcp_server: str
) -> None:
    daemon_env.config.write_text(
        provider_config(fake_server.url) + f'[mcp.servers.web]\nurl = "{http_mcp_server}"\n'
    )
    fake_server.script(Reply(calls=[Call("web__add", {"a": 4, "b": 5}, id="w1")]), Reply("9"))
    client = await spawn(daemon_env)
    try:
        session = await client.chat_new(provider="claude", mcp_servers=["web"])
        answer = await client.chat_send("add", session_id=session["sessionId"])
    finally:
        await client.close()
    assert answer["text"] == "9"
    assert last_results(fake_server) == [("9", False)]
