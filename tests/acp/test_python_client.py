"""The ACP Python SDK's client against ``chatd acp``: the conversation flow end to end."""

from __future__ import annotations

import asyncio
import signal

import pytest
from acp import RequestError, text_block
from acp.client.connection import ClientSideConnection
from acp.schema import EmbeddedResourceContentBlock, ResourceContentBlock, TextResourceContents

from tests.acp.conftest import AcpEnv
from tests.acp.sdk_client import sdk_agent, sdk_agent_process
from tests.fakes.provider_server import FakeProviderServer, Reply
from tests.providers.test_daemon_providers import provider_config

pytestmark = pytest.mark.anyio


async def test_initialize_advertises_what_chatd_serves(acp_env: AcpEnv) -> None:
    async with sdk_agent(acp_env) as (connection, _):
        answer = await connection.initialize(protocol_version=1)
    capabilities = answer.agent_capabilities
    assert answer.protocol_version == 1
    assert capabilities.load_session is True
    assert capabilities.prompt_capabilities.embedded_context is True
    assert capabilities.prompt_capabilities.image is True  # echo takes images and PDFs
    assert capabilities.prompt_capabilities.audio is False
    sessions = capabilities.session_capabilities
    assert sessions.list and sessions.resume and sessions.close and sessions.delete
    assert sessions.additional_directories is not None
    assert capabilities.mcp_capabilities.http is True
    assert answer.agent_info.name == "chatd"


async def test_new_prompt_list_close_load_delete(acp_env: AcpEnv) -> None:
    async with sdk_agent(acp_env) as (connection, client):
        created = await connection.new_session(cwd=acp_env.cwd, mcp_servers=[])
        session_id = created.session_id
        assert [option.id for option in created.config_options] == ["provider", "model"]
        answer = await connection.prompt(session_id=session_id, prompt=[text_block("hello")])
        assert answer.stop_reason == "end_turn"
        assert client.text("agent_message_chunk") == "[1] hello"
        assert client.kinds()[-2:] == ["usage_update", "session_info_update"]
        assert client.updates[-1].title == "hello"

        listed = await connection.list_sessions(cwd=acp_env.cwd)
        assert [(s.session_id, s.cwd, s.title) for s in listed.sessions] == [
            (session_id, acp_env.cwd, "hello")
        ]
        assert listed.sessions[0].field_meta["messageCount"] == 2
        assert (await connection.list_sessions(cwd="/elsewhere")).sessions == []

        await connection.close_session(session_id=session_id)
        client.updates.clear()
        loaded = await connection.load_session(
            cwd=acp_env.cwd, session_id=session_id, mcp_servers=[]
        )
        assert client.kinds() == ["user_message_chunk", "agent_message_chunk"]
        assert loaded.config_options[1].current_value == "echo-1"

        client.updates.clear()
        await connection.resume_session(session_id=session_id, cwd=acp_env.cwd)
        assert client.updates == []
        again = await connection.prompt(session_id=session_id, prompt=[text_block("again")])
        assert again.stop_reason == "end_turn"
        assert client.text("agent_message_chunk") == "[2] again"

        await connection._conn.send_request("session/delete", {"sessionId": session_id})
        assert (await connection.list_sessions()).sessions == []


async def listed(connection: ClientSideConnection, cwd: str) -> list[str] | None:
    """The additional directories ``session/list`` reports for the workspace's one session."""
    [info] = (await connection.list_sessions(cwd=cwd)).sessions
    return info.additional_directories


async def test_list_reports_the_additional_directories_the_latest_request_activated(
    acp_env: AcpEnv,
) -> None:
    library, docs = str(acp_env.root / "library"), str(acp_env.root / "docs")
    async with sdk_agent(acp_env) as (connection, _):
        created = await connection.new_session(
            cwd=acp_env.cwd, mcp_servers=[], additional_directories=[library]
        )
        session_id = created.session_id
        await connection.prompt(session_id=session_id, prompt=[text_block("hello")])

        assert await listed(connection, acp_env.cwd) == [library]
        await connection.close_session(session_id=session_id)
        await connection.load_session(
            cwd=acp_env.cwd,
            session_id=session_id,
            mcp_servers=[],
            additional_directories=[docs, library],
        )
        assert await listed(connection, acp_env.cwd) == [docs, library]
    async with sdk_agent(acp_env) as (connection, _):  # a new process reads it from the store
        assert await listed(connection, acp_env.cwd) == [docs, library]
        await connection.resume_session(session_id=session_id, cwd=acp_env.cwd)
        assert (
            await listed(connection, acp_env.cwd) is None
        )  # a request without them activates none


async def test_resources_become_text_with_their_uri(acp_env: AcpEnv) -> None:
    link = ResourceContentBlock(type="resource_link", uri="file:///w/a.py", name="a.py")
    embedded = EmbeddedResourceContentBlock(
        type="resource",
        resource=TextResourceContents(uri="file:///w/b.py", text="print('b')"),
    )
    async with sdk_agent(acp_env) as (connection, client):
        session = await connection.new_session(cwd=acp_env.cwd, mcp_servers=[])
        await connection.prompt(
            session_id=session.session_id, prompt=[text_block("look"), link, embedded]
        )
    reply = client.text("agent_message_chunk")
    assert reply.startswith("[1] look\n\n")
    assert "file:///w/a.py" in reply
    assert "file:///w/b.py" in reply and "print('b')" in reply


async def test_model_selector_changes_the_model(acp_env: AcpEnv) -> None:
    async with sdk_agent(acp_env) as (connection, _):
        session = await connection.new_session(cwd=acp_env.cwd, mcp_servers=[])
        changed = await connection.set_config_option(
            config_id="model", session_id=session.session_id, value="echo-2"
        )
        assert changed.config_options[1].current_value == "echo-2"
        await connection.prompt(session_id=session.session_id, prompt=[text_block("hi")])
        listed = await connection.list_sessions()
    assert listed.sessions[0].field_meta["model"] == "echo-2"


async def test_provider_selector_moves_a_new_session_and_refuses_a_conversion(
    acp_env: AcpEnv, fake_server: FakeProviderServer
) -> None:
    acp_env.config.write_text(
        'default_provider = "echo"\n' + provider_config("claude", fake_server.url)
    )
    fake_server.script(Reply("claude here"))
    async with sdk_agent(acp_env) as (connection, client):
        fresh = await connection.new_session(cwd=acp_env.cwd, mcp_servers=[])
        moved = await connection.set_config_option(
            config_id="provider", session_id=fresh.session_id, value="claude"
        )
        await connection.prompt(session_id=fresh.session_id, prompt=[text_block("hi")])
        used = await connection.new_session(cwd=acp_env.cwd, mcp_servers=[])
        await connection.prompt(session_id=used.session_id, prompt=[text_block("hi")])
        with pytest.raises(RequestError) as refused:
            await connection.set_config_option(
                config_id="provider", session_id=used.session_id, value="claude"
            )
    assert moved.config_options[0].current_value == "claude"
    assert client.text("agent_message_chunk") == "claude here[1] hi"
    assert refused.value.code == -32602 and "claude" in str(refused.value)


async def test_cancel_then_kill_9_then_load_and_continue(acp_env: AcpEnv) -> None:
    async with sdk_agent_process(acp_env, CHATD_ECHO_DELAY_MS="150") as (connection, client, proc):
        session = await connection.new_session(cwd=acp_env.cwd, mcp_servers=[])
        session_id = session.session_id
        await connection.prompt(session_id=session_id, prompt=[text_block("one")])
        slow = asyncio.create_task(
            connection.prompt(session_id=session_id, prompt=[text_block("two, slowly")])
        )
        await client.wait_for(lambda: client.text("agent_message_chunk") != "[1] one")
        await connection.cancel(session_id=session_id)
        assert (await slow).stop_reason == "cancelled"
        proc.kill()
        assert await proc.wait() == -signal.SIGKILL

    async with sdk_agent(acp_env) as (connection, client):
        await connection.load_session(cwd=acp_env.cwd, session_id=session_id, mcp_servers=[])
        assert client.kinds() == ["user_message_chunk", "agent_message_chunk"] * 2
        assert client.updates[2].content.text == "two, slowly"
        client.updates.clear()
        await connection.prompt(session_id=session_id, prompt=[text_block("three")])
        assert client.text("agent_message_chunk") == "[3] three"
