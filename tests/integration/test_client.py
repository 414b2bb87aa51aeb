"""chatd_client's typed methods and its blocking wrapper, against the real daemon."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from chatd_client import Client, SyncClient
from tests.integration.conftest import DaemonEnv

pytestmark = pytest.mark.anyio


async def test_typed_methods(stdio_client: Client) -> None:
    created = await stdio_client.chat_new(system_prompt="s", title="t", metadata={"k": "v"})
    session_id = created["sessionId"]
    reply = await stdio_client.chat_send("hi", session_id=session_id)
    assert reply["text"] == "[1] hi"
    assert (await stdio_client.chat_save(session_id))["revision"] == 2
    assert (await stdio_client.chat_history(session_id, limit=1))["items"][0]["text"] == "[1] hi"
    assert (await stdio_client.chat_restore(session_id))["title"] == "t"
    assert await stdio_client.chat_cancel(session_id) is False
    listing = await stdio_client.store_list(limit=5)
    assert [item["id"] for item in listing["items"]] == [session_id]
    await stdio_client.chat_close(session_id)
    await stdio_client.store_delete(session_id)
    assert (await stdio_client.daemon_status())["liveSessions"] == 0


async def test_connect_unix_can_start_the_daemon(daemon_env: DaemonEnv) -> None:
    async with await Client.connect_unix(daemon_env.socket, start=True) as client:
        await client.initialize()
        assert (await client.chat_send("started"))["text"] == "[1] started"
        await client.daemon_stop()


def test_sync_client(daemon_env: DaemonEnv, socket_daemon: subprocess.Popen[bytes]) -> None:
    updates: list[Any] = []
    with SyncClient.connect_unix(daemon_env.socket) as client:
        client.on_notification(lambda method, params: updates.append(params))
        client.initialize()
        reply = client.chat_send("blocking")
        assert reply["text"] == "[1] blocking"
    assert "".join(u["text"] for u in updates if u["kind"] == "text") == "[1] blocking"
