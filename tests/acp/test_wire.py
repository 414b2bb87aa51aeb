"""``chatd acp`` on the wire: every bad line gets an error and the agent keeps serving."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from acp.schema import SessionNotification

from tests.acp.conftest import AcpEnv, RawAgent, raw_agent

pytestmark = pytest.mark.anyio


async def still_serving(agent: RawAgent) -> None:
    answer = await agent.call("session/list", {})
    assert "sessions" in answer["result"], answer


async def test_malformed_lines_get_parse_and_request_errors(acp_env: AcpEnv) -> None:
    async with raw_agent(acp_env) as agent:
        await agent.call("initialize", {"protocolVersion": 1})
        for line, code in [
            (b"{not json", -32700),
            (b"\xff\xfe", -32700),
            (b"[1, 2]", -32600),
            (b'"just a string"', -32600),
            (b'{"id": 1, "method": "session/list"}', -32600),
            (b'{"jsonrpc": "2.0", "id": {"x": 1}, "method": "session/list"}', -32600),
            (b"[" * 1000 + b"]" * 1000, -32700),
            (
                b'{"jsonrpc": "2.0", "id": 1, "method": "session/list", "params": {"x": NaN}}',
                -32700,
            ),
            (b'{"jsonrpc": "2.0", "id": "\xed\xa0\x80", "method": "session/list"}', -32700),
            (b'{"jsonrpc": "2.0", "id": "\\ud800", "method": "session/list"}', -32600),
        ]:
            await agent.send_line(line)
            error = (await agent.receive())["error"]
            assert error["code"] == code, (line, error)
            assert error["data"]["reason"]
        await still_serving(agent)


async def test_oversize_messages_are_refused_and_serving_goes_on(acp_env: AcpEnv) -> None:
    acp_env.config.write_text("[daemon]\nmax_frame_bytes = 4096\n")
    async with raw_agent(acp_env) as agent:
        await agent.call("initialize", {"protocolVersion": 1})
        huge = {"jsonrpc": "2.0", "id": 99, "method": "session/list", "params": {"x": "a" * 20000}}
        await agent.send(huge)
        answer = await agent.receive()
        assert answer["id"] is None
        assert answer["error"]["data"]["reason"] == "message_too_large"
        await still_serving(agent)


async def test_unknown_methods_params_and_sessions(acp_env: AcpEnv) -> None:
    async with raw_agent(acp_env) as agent:
        await agent.call("initialize", {"protocolVersion": 1})
        assert (await agent.call("_vendor/thing", {}))["error"]["code"] == -32601
        assert (await agent.call("session/set_mode", {}))["error"]["code"] == -32601
        await agent.send({"jsonrpc": "2.0", "method": "_vendor/notice", "params": {}})
        bad = await agent.call("session/new", {"cwd": 42, "mcpServers": []})
        assert bad["error"]["code"] == -32602 and "cwd" in bad["error"]["message"]
        relative = await agent.call("session/new", {"cwd": "here", "mcpServers": []})
        assert relative["error"]["code"] == -32602
        unknown = str(uuid.uuid4())
        prompt = {"sessionId": unknown, "prompt": [{"type": "text", "text": "hi"}]}
        assert (await agent.call("session/prompt", prompt))["error"]["code"] == -32002
        load = {"sessionId": unknown, "cwd": acp_env.cwd, "mcpServers": []}
        assert (await agent.call("session/load", load))["error"]["code"] == -32002
        cursor = await agent.call("session/list", {"cursor": "not-a-cursor"})
        assert cursor["error"]["code"] == -32602
        session = await agent.call("session/new", {"cwd": acp_env.cwd, "mcpServers": []})
        lone = {"type": "text", "text": "a \ud800 b"}
        prompt = {"sessionId": session["result"]["sessionId"], "prompt": [lone]}
        refused = (await agent.call("session/prompt", prompt))["error"]
        assert refused["code"] == -32602 and refused["data"]["reason"] == "invalid_params"
        assert not agent.notifications, "no turn started"
        await agent.send({"jsonrpc": "2.0", "method": "session/cancel", "params": {}})
        await still_serving(agent)
    assert all("Traceback" not in json.dumps(n) for n in agent.notifications)


async def test_cancel_request_and_session_cancel_end_a_prompt_cancelled(acp_env: AcpEnv) -> None:
    async with raw_agent(acp_env, CHATD_ECHO_DELAY_MS="300") as agent:
        await agent.call("initialize", {"protocolVersion": 1})
        created = await agent.call("session/new", {"cwd": acp_env.cwd, "mcpServers": []})
        session_id = created["result"]["sessionId"]
        for stop in ("$/cancel_request", "session/cancel"):
            request_id = f"slow-{stop}"
            prompt = {"sessionId": session_id, "prompt": [{"type": "text", "text": "slowly"}]}
            await agent.send(
                {"jsonrpc": "2.0", "id": request_id, "method": "session/prompt", "params": prompt}
            )
            first = await agent.receive()
            assert first["params"]["update"]["sessionUpdate"] == "agent_message_chunk"
            params = (
                {"requestId": request_id} if stop.startswith("$") else {"sessionId": session_id}
            )
            await agent.send({"jsonrpc": "2.0", "method": stop, "params": params})
            answer = await agent.response(request_id)
            assert answer["result"]["stopReason"] == "cancelled", stop
        await still_serving(agent)


async def test_every_update_matches_the_acp_schema(acp_env: AcpEnv) -> None:
    async with raw_agent(acp_env) as agent:
        await agent.call("initialize", {"protocolVersion": 1})
        created = await agent.call("session/new", {"cwd": acp_env.cwd, "mcpServers": []})
        session_id = created["result"]["sessionId"]
        prompt = {"sessionId": session_id, "prompt": [{"type": "text", "text": "hello"}]}
        await agent.call("session/prompt", prompt)
        await agent.call("session/load", {**prompt, "cwd": acp_env.cwd, "mcpServers": []})
    kinds = set()
    for message in agent.notifications:
        notification = SessionNotification.model_validate(message["params"])
        kinds.add(notification.update.session_update)
        assert notification.model_dump(by_alias=True, exclude_none=True) == message["params"]
    assert kinds == {
        "agent_message_chunk",
        "usage_update",
        "session_info_update",
        "user_message_chunk",
    }


@pytest.mark.parametrize("command", [("acp",), ("serve", "--acp")])
async def test_the_agent_exits_cleanly_at_end_of_input(
    acp_env: AcpEnv, command: tuple[str, ...]
) -> None:
    async with raw_agent(acp_env, *command) as agent:
        answer = await agent.call("initialize", {"protocolVersion": 1})
        assert answer["result"]["agentInfo"]["name"] == "chatd"
        agent.stdin.close()
        assert await asyncio.wait_for(agent.process.wait(), 20) == 0
