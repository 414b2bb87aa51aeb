"""The client's MCP servers (``mcpServers``) as the session's tools: a real ``mcp`` SDK server
over stdio and over streamable HTTP, called by the model (Claude's wire API, played by the fake
provider server), and connected again when a new agent process loads the conversation."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from acp import RequestError, text_block
from acp.schema import EnvVariable, HttpHeader, HttpMcpServer, McpServerStdio

from tests.acp.conftest import AcpEnv
from tests.acp.sdk_client import sdk_agent
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Call, Reply
from tests.providers import wire

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).parents[2]
SECRET = "hunter2-client-secret"


def stdio_server(name: str = "my calc") -> McpServerStdio:
    return McpServerStdio(
        name=name,
        command=sys.executable,
        args=[str(ROOT / "tests" / "fakes" / "mcp_server.py")],
        env=[EnvVariable(name="CHATD_TEST_MCP_SECRET", value=SECRET)],
    )


def results(server: FakeProviderServer) -> list[tuple[str, bool]]:
    return [(text, error) for _, text, error in wire.tool_results(server.requests[-1])]


async def test_stdio_server_tools_are_called_and_come_back_on_load(
    acp_env: AcpEnv, claude: FakeProviderServer
) -> None:
    claude.script(
        Reply(calls=[Call("my-calc__add", {"a": 2, "b": 3}, id="c1")]),
        Reply("5"),
        Reply(calls=[Call("my-calc__secret", {}, id="c2")]),
        Reply("present"),
    )
    async with sdk_agent(acp_env) as (connection, client):
        session = await connection.new_session(cwd=acp_env.cwd, mcp_servers=[stdio_server()])
        session_id = session.session_id
        await connection.prompt(session_id=session_id, prompt=[text_block("add")])
    assert results(claude) == [("5", False)]
    tools = {tool["name"] for tool in claude.bodies()[0]["tools"]}
    assert {"my-calc__add", "my-calc__secret", "my-calc__header"} <= tools
    calls = [u for u in client.updates if u.session_update == "tool_call_update"]
    assert calls[-1].status == "completed" and calls[-1].raw_output is not None

    async with sdk_agent(acp_env) as (connection, client):  # a new agent process
        await connection.load_session(
            cwd=acp_env.cwd, session_id=session_id, mcp_servers=[stdio_server()]
        )
        answer = await connection.prompt(session_id=session_id, prompt=[text_block("secret?")])
    assert answer.stop_reason == "end_turn"
    assert results(claude)[-1] == ("present", False)  # the env reached the server
    stored = [path.read_bytes() for path in acp_env.store_dir.rglob("*") if path.is_file()]
    assert stored and not any(SECRET.encode() in data for data in stored)


async def test_http_server_gets_the_clients_headers(
    acp_env: AcpEnv, claude: FakeProviderServer, http_mcp_server: str
) -> None:
    claude.script(
        Reply(calls=[Call("web__header", {"name": "X-Token"}, id="h1")]),
        Reply("seen"),
    )
    server = HttpMcpServer(
        type="http",
        name="web",
        url=http_mcp_server,
        headers=[HttpHeader(name="X-Token", value="t0k")],
    )
    async with sdk_agent(acp_env) as (connection, _):
        session = await connection.new_session(cwd=acp_env.cwd, mcp_servers=[server])
        await connection.prompt(session_id=session.session_id, prompt=[text_block("token?")])
    assert results(claude) == [("t0k", False)]


async def test_an_http_server_off_loopback_without_tls_is_refused(acp_env: AcpEnv) -> None:
    server = HttpMcpServer(type="http", name="web", url="http://192.0.2.1/mcp", headers=[])
    async with sdk_agent(acp_env) as (connection, _):
        with pytest.raises(RequestError) as refused:
            await connection.new_session(cwd=acp_env.cwd, mcp_servers=[server])
    assert "https" in str(refused.value)
