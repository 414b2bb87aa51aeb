"""``chatd send --mcp NAME``: MCP tools from the command line, asked about unless ``--yes``."""

from __future__ import annotations

from tests.fakes.provider_server import Call, FakeProviderServer, Reply
from tests.integration.conftest import DaemonEnv
from tests.integration.test_cli import chatd
from tests.providers import wire
from tests.tools.test_mcp import mcp_config


def test_send_with_an_mcp_server_and_yes_runs_its_asking_tools(
    daemon_env: DaemonEnv, fake_server: FakeProviderServer
) -> None:
    mcp_config(daemon_env, fake_server.url)
    config = daemon_env.config.read_text()
    daemon_env.config.write_text(config.replace("[mcp.servers.calc]\n", _ASKING))
    fake_server.script(
        Reply(calls=[Call("calc__add", {"a": 20, "b": 22}, id="x1")]),
        Reply("It is 42."),
        Reply(calls=[Call("calc__add", {"a": 1, "b": 1}, id="x2")]),
        Reply("Not allowed."),
    )
    try:
        allowed = chatd(daemon_env, "send", "-p", "claude", "--mcp", "calc", "--yes", "add")
        asked = chatd(daemon_env, "send", "-p", "claude", "--mcp", "calc", "add again")
    finally:
        chatd(daemon_env, "stop")

    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.strip() == "It is 42."
    assert wire.tool_results(fake_server.requests[1]) == [("x1", "42", False)]
    assert asked.returncode == 0, asked.stderr
    assert "no terminal to ask" in asked.stderr
    assert wire.tool_results(fake_server.requests[3])[-1][1:] == (
        "the user rejected this call",
        True,
    )


_ASKING = '[mcp.servers.calc]\napproval = "ask"\n'
