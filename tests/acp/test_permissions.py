"""Tools through ACP: approval is ``session/request_permission`` (an ``allow_always`` is
remembered for the workspace), and the client's file system serves ``read_text_file`` /
``write_text_file``, confined to the session's directories. The model is Claude's wire API,
played by the fake provider server."""

from __future__ import annotations

import asyncio

import pytest
from acp import RequestError, text_block

from tests.acp.conftest import AcpEnv
from tests.acp.sdk_client import sdk_agent
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Call, Reply

pytestmark = pytest.mark.anyio

OPTION_KINDS = ["allow_once", "allow_always", "reject_once", "reject_always"]


def write_call(path: str, content: str) -> Reply:
    return Reply(calls=[Call("write_text_file", {"path": path, "content": content})])


async def test_allow_always_is_asked_once_and_files_go_through_the_client(
    acp_env: AcpEnv, claude: FakeProviderServer
) -> None:
    target = f"{acp_env.cwd}/notes.txt"
    claude.script(
        write_call(target, "first"),
        Reply(text="written"),
        write_call(target, "second"),
        Reply(text="again"),
        Reply(calls=[Call("read_text_file", {"path": target})]),
        Reply(text="read"),
    )
    async with sdk_agent(acp_env, fs=True) as (connection, client):
        session = await connection.new_session(cwd=acp_env.cwd, mcp_servers=[])
        client.decision = "allow_always"
        first = await connection.prompt(session_id=session.session_id, prompt=[text_block("w")])
        assert first.stop_reason == "end_turn"
        assert client.files == {target: "first"}
        [(tool_call, kinds)] = client.permissions
        assert kinds == OPTION_KINDS
        assert tool_call.raw_input == {"path": target, "content": "first"}
        statuses = [u.status for u in client.updates if u.session_update == "tool_call_update"]
        assert statuses[-1] == "completed"

        await connection.prompt(session_id=session.session_id, prompt=[text_block("w2")])
        assert client.files == {target: "second"}
        assert len(client.permissions) == 1  # remembered for this workspace

        await connection.prompt(session_id=session.session_id, prompt=[text_block("r")])
        tool_results = [m for m in claude.bodies()[-1]["messages"] if m["role"] == "user"]
        assert "second" in str(tool_results[-1]["content"])


async def test_rejection_and_paths_outside_the_workspace_fail_the_call(
    acp_env: AcpEnv, claude: FakeProviderServer
) -> None:
    claude.script(
        write_call(f"{acp_env.cwd}/a.txt", "no"),
        Reply(text="ok"),
        write_call("/etc/passwd", "never"),
        Reply(text="ok"),
    )
    async with sdk_agent(acp_env, fs=True) as (connection, client):
        session = await connection.new_session(cwd=acp_env.cwd, mcp_servers=[])
        client.decision = "reject_once"
        await connection.prompt(session_id=session.session_id, prompt=[text_block("w")])
        client.decision = "allow_once"
        await connection.prompt(session_id=session.session_id, prompt=[text_block("w")])
    assert client.files == {}
    failed = [u for u in client.updates if getattr(u, "status", None) == "failed"]
    assert [u.raw_output["content"] for u in failed] == [
        "the user rejected this call",
        f"/etc/passwd is outside this session's directories ({acp_env.cwd})",
    ]


async def test_additional_directories_widen_the_file_tools_and_must_be_absolute(
    acp_env: AcpEnv, claude: FakeProviderServer
) -> None:
    extra = acp_env.root / "library"
    extra.mkdir()
    claude.script(Reply(calls=[Call("read_text_file", {"path": f"{extra}/b.txt"})]), Reply("ok"))
    async with sdk_agent(acp_env, fs=True) as (connection, client):
        client.files[f"{extra}/b.txt"] = "from the library"
        with pytest.raises(RequestError) as relative:
            await connection.new_session(
                cwd=acp_env.cwd, mcp_servers=[], additional_directories=["library"]
            )
        session = await connection.new_session(
            cwd=acp_env.cwd, mcp_servers=[], additional_directories=[str(extra)]
        )
        await connection.prompt(session_id=session.session_id, prompt=[text_block("r")])
    assert relative.value.code == -32602 and "additionalDirectories" in str(relative.value)
    results = [m for m in claude.bodies()[-1]["messages"] if m["role"] == "user"]
    assert "from the library" in str(results[-1]["content"])


async def test_without_fs_capabilities_no_file_tools_are_offered(
    acp_env: AcpEnv, claude: FakeProviderServer
) -> None:
    claude.script(Reply(text="hello"))
    async with sdk_agent(acp_env) as (connection, _):
        session = await connection.new_session(cwd=acp_env.cwd, mcp_servers=[])
        await connection.prompt(session_id=session.session_id, prompt=[text_block("hi")])
    assert "tools" not in claude.bodies()[0] or claude.bodies()[0]["tools"] == []


async def test_session_cancel_withdraws_a_pending_permission_request(
    acp_env: AcpEnv, claude: FakeProviderServer
) -> None:
    claude.script(write_call(f"{acp_env.cwd}/a.txt", "x"), Reply(text="after"))
    async with sdk_agent(acp_env, fs=True) as (connection, client):
        session = await connection.new_session(cwd=acp_env.cwd, mcp_servers=[])
        client.decision = "never"
        prompt = asyncio.create_task(
            connection.prompt(session_id=session.session_id, prompt=[text_block("w")])
        )
        await asyncio.wait_for(client.asked.wait(), 20)
        await connection.cancel(session_id=session.session_id)
        assert (await asyncio.wait_for(prompt, 20)).stop_reason == "cancelled"
        client.decision = "allow_once"
        again = await connection.prompt(session_id=session.session_id, prompt=[text_block("go")])
    assert again.stop_reason == "end_turn"
    assert client.files == {}
