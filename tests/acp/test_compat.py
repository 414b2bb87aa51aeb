"""Conversations cross front ends: saved by ``chatd send``, by the reference Go framework, or
by chatd with tool calls and thinking, each loads over ACP with everything replayed."""

from __future__ import annotations

from pathlib import Path

import pytest
from acp import text_block

from chatd.core.store import FileStore
from tests.acp.conftest import AcpEnv
from tests.acp.sdk_client import sdk_agent
from tests.integration.test_cli import chatd
from tests.unit.store.conftest import make_snapshot
from tests.unit.store.test_compat import REFERENCE_FILE, REFERENCE_ID

pytestmark = pytest.mark.anyio


async def test_chatd_send_then_acp_then_chatd_send(acp_env: AcpEnv) -> None:
    try:
        sent = chatd(acp_env, "send", "from the cli")
        assert sent.returncode == 0, sent.stderr
    finally:
        chatd(acp_env, "stop")  # one process at a time holds a conversation live
    session_id = sent.stderr.split("conversation ")[1].split()[0]

    async with sdk_agent(acp_env) as (connection, client):
        listed = await connection.list_sessions()
        assert [(s.session_id, s.cwd) for s in listed.sessions] == [(session_id, str(Path.home()))]
        assert (await connection.list_sessions(cwd=acp_env.cwd)).sessions == []
        await connection.load_session(cwd=acp_env.cwd, session_id=session_id, mcp_servers=[])
        assert client.text("user_message_chunk") == "from the cli"
        assert client.text("agent_message_chunk") == "[1] from the cli"
        client.updates.clear()
        await connection.prompt(session_id=session_id, prompt=[text_block("from acp")])
        assert client.text("agent_message_chunk") == "[2] from acp"
        filtered = await connection.list_sessions(cwd=acp_env.cwd)
        assert [s.session_id for s in filtered.sessions] == [session_id]  # loading adopted cwd

    try:
        again = chatd(acp_env, "send", "--session", session_id, "back in the cli")
        assert again.stdout.strip() == "[3] back in the cli"
    finally:
        chatd(acp_env, "stop")


async def test_a_reference_snapshot_loads_over_acp(acp_env: AcpEnv) -> None:
    acp_env.store_dir.mkdir()
    (acp_env.store_dir / f"{REFERENCE_ID}.json").write_bytes(REFERENCE_FILE)
    async with sdk_agent(acp_env) as (connection, client):
        listed = await connection.list_sessions()
        assert [s.session_id for s in listed.sessions] == [REFERENCE_ID]
        loaded = await connection.load_session(
            cwd=acp_env.cwd, session_id=REFERENCE_ID, mcp_servers=[]
        )
    assert client.kinds() == ["user_message_chunk", "agent_message_chunk"]
    assert client.updates[0].content.text == "Is 2 < 3 & é?"
    assert client.updates[1].content.text == "Yes."
    assert loaded.config_options[0].current_value == "claude"
    assert loaded.config_options[1].current_value == "claude-sonnet-4-5"


async def test_tool_calls_and_thinking_replay_with_their_final_state(acp_env: AcpEnv) -> None:
    messages = [
        {"role": "user", "content": "Weather in Paris and Oslo?"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Two cities: two calls.", "signature": "c2ln"},
                {"type": "text", "text": "Looking it up."},
                {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "t2", "name": "get_weather", "input": {"city": "Oslo"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "18 C"},
                {
                    "type": "tool_result",
                    "tool_use_id": "t2",
                    "content": "offline",
                    "is_error": True,
                },
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "Paris 18 C; Oslo unknown."}]},
    ]
    snapshot = make_snapshot(messages=messages, metadata={"workspace": acp_env.cwd})
    FileStore(acp_env.store_dir).save(snapshot)
    async with sdk_agent(acp_env) as (connection, client):
        await connection.load_session(cwd=acp_env.cwd, session_id=snapshot.id, mcp_servers=[])
    assert client.kinds() == [
        "user_message_chunk",
        "agent_thought_chunk",
        "agent_message_chunk",
        "tool_call",
        "tool_call",
        "tool_call_update",
        "tool_call_update",
        "agent_message_chunk",
    ]
    assert client.updates[1].content.text == "Two cities: two calls."
    first_call, first_result, second_result = (
        client.updates[3],
        client.updates[5],
        client.updates[6],
    )
    assert (first_call.tool_call_id, first_call.kind) == ("t1", "read")
    assert first_call.raw_input == {"city": "Paris"}
    assert (first_result.tool_call_id, first_result.status) == ("t1", "completed")
    assert first_result.raw_output == {"content": "18 C", "isError": False}
    assert first_result.content[0].content.text == "18 C"
    assert (second_result.tool_call_id, second_result.status) == ("t2", "failed")


async def test_text_and_numbers_the_fast_encoder_refuses_still_replay(acp_env: AcpEnv) -> None:
    """A lone surrogate (a hand-edited snapshot) leaves as U+FFFD and an integer beyond 64
    bits as it is, instead of failing the whole ``session/load``."""
    messages = [
        {"role": "user", "content": "half a pair: \ud800"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "count", "input": {"n": 2**70}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}],
        },
    ]
    snapshot = make_snapshot(messages=messages, metadata={"workspace": acp_env.cwd})
    FileStore(acp_env.store_dir).save(snapshot)
    async with sdk_agent(acp_env) as (connection, client):
        await connection.load_session(cwd=acp_env.cwd, session_id=snapshot.id, mcp_servers=[])
    assert client.kinds() == ["user_message_chunk", "tool_call", "tool_call_update"]
    assert client.updates[0].content.text == "half a pair: \ufffd"
    assert client.updates[1].raw_input == {"n": 2**70}
