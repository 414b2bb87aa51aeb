"""Sessions through the real daemon: autosave, resume after kill -9, cancellation, busy
sessions, many clients, eviction, and the store methods."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from typing import Any

import pytest

from chatd.core.store import FileStore
from chatd_client import Client, RpcError, daemon_command
from tests.integration.conftest import DaemonEnv, RawPeer, stop
from tests.unit.store.conftest import make_snapshot

pytestmark = pytest.mark.anyio

SLOW = {"CHATD_ECHO_DELAY_MS": "150"}
"""Echo pauses this long between deltas, holding a turn open for the test to act."""


async def spawn(daemon_env: DaemonEnv, **extra: str) -> Client:
    client = await Client.spawn_stdio(env=daemon_env.env(**extra))
    await client.initialize("pytest")
    return client


def kill_hard(client: Client) -> None:
    assert client.process is not None
    os.kill(client.process.pid, signal.SIGKILL)


class Updates:
    """Collects chat/update notifications; lets a test wait for the first text delta."""

    def __init__(self, client: Client) -> None:
        self.items: list[dict[str, Any]] = []
        self.first_text = asyncio.Event()
        client.on_notification(self._on)

    def _on(self, method: str, params: Any) -> None:
        if method == "chat/update":
            self.items.append(params)
            if params["kind"] == "text":
                self.first_text.set()

    def kinds(self, session_id: str) -> list[str]:
        return [u["kind"] for u in self.items if u["sessionId"] == session_id]


async def test_history_survives_kill_9_and_restart(daemon_env: DaemonEnv) -> None:
    client = await spawn(daemon_env)
    first = await client.request("chat/send", {"message": "one"})
    session_id = first["sessionId"]
    second = await client.request("chat/send", {"sessionId": session_id, "message": "two"})
    assert (first["text"], second["text"]) == ("[1] one", "[2] two")
    assert second["revision"] == 2
    kill_hard(client)
    await client.close()

    client = await spawn(daemon_env)
    try:
        third = await client.request("chat/send", {"sessionId": session_id, "message": "three"})
        assert third["text"] == "[3] three"
        history = await client.request("chat/history", {"sessionId": session_id})
        assert [item["text"] for item in history["items"]] == [
            "one",
            "[1] one",
            "two",
            "[2] two",
            "three",
            "[3] three",
        ]
    finally:
        await client.close()


async def test_updates_are_numbered_and_precede_the_answer(stdio_client: Client) -> None:
    updates = Updates(stdio_client)
    result = await stdio_client.request("chat/send", {"message": "hello there"})
    mine = [u for u in updates.items if u["sessionId"] == result["sessionId"]]
    assert [u["seq"] for u in mine] == list(range(1, len(mine) + 1))
    assert mine[0] == {**mine[0], "kind": "status", "state": "running"}
    assert mine[-1] == {**mine[-1], "kind": "status", "state": "idle", "detail": "end_turn"}
    assert "".join(u["text"] for u in mine if u["kind"] == "text") == result["text"]


async def test_chat_cancel_returns_partial_text_and_keeps_history_valid(
    daemon_env: DaemonEnv,
) -> None:
    client = await spawn(daemon_env, **SLOW)
    try:
        updates = Updates(client)
        created = await client.request("chat/new", {})
        session_id = created["sessionId"]
        turn = asyncio.create_task(
            client.request("chat/send", {"sessionId": session_id, "message": "long message"})
        )
        await asyncio.wait_for(updates.first_text.wait(), 20)
        assert await client.request("chat/cancel", {"sessionId": session_id}) == {"cancelled": True}
        result = await turn
        assert result["stopReason"] == "cancelled"
        assert result["text"] and "[1] long message".startswith(result["text"])
        assert updates.kinds(session_id)[-1] == "status"
        assert updates.items[-1]["state"] == "cancelled"
        assert await client.request("chat/cancel", {"sessionId": session_id}) == {
            "cancelled": False
        }
        follow_up = await client.request("chat/send", {"sessionId": session_id, "message": "x"})
        assert follow_up["text"] == "[2] x"
    finally:
        await client.close()


async def test_cancel_request_mid_stream(daemon_env: DaemonEnv) -> None:
    process = await asyncio.create_subprocess_exec(
        *daemon_command("serve", "--stdio"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=daemon_env.env(**SLOW),
    )
    assert process.stdin is not None and process.stdout is not None
    peer = RawPeer(process.stdout, process.stdin)
    try:
        await peer.request({"jsonrpc": "2.0", "id": 0, "method": "initialize"})
        await peer.response(0)
        await peer.request(
            {"jsonrpc": "2.0", "id": 1, "method": "chat/send", "params": {"message": "abcdefgh"}}
        )
        while (message := await peer.receive()).get("params", {}).get("kind") != "text":
            pass
        await peer.request({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 1}})
        answer = await peer.response(1)
        assert answer["result"]["stopReason"] == "cancelled"
        assert answer["result"]["text"] == message["params"]["text"]
    finally:
        process.stdin.close()
        await process.wait()


async def test_second_send_to_a_running_session_is_busy(daemon_env: DaemonEnv) -> None:
    client = await spawn(daemon_env, **SLOW)
    try:
        session_id = (await client.request("chat/new", {}))["sessionId"]
        turn = asyncio.create_task(
            client.request("chat/send", {"sessionId": session_id, "message": "first"})
        )
        await asyncio.sleep(0.05)
        with pytest.raises(RpcError) as caught:
            await client.request("chat/send", {"sessionId": session_id, "message": "second"})
        assert caught.value.code == -32011
        assert caught.value.data == {"reason": "session_busy", "sessionId": session_id}
        assert (await turn)["text"] == "[1] first"
    finally:
        await client.close()


async def test_unknown_and_malformed_session_ids(stdio_client: Client) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(RpcError) as caught:
        await stdio_client.request("chat/send", {"sessionId": missing, "message": "x"})
    assert (caught.value.code, caught.value.reason) == (-32010, "session_not_found")
    for bad in ("../../etc/passwd", "ABCDEF00-0000-4000-8000-000000000000", "x\x00y"):
        with pytest.raises(RpcError) as caught:
            await stdio_client.request("chat/send", {"sessionId": bad, "message": "x"})
        assert caught.value.reason == "invalid_snapshot_id"


async def test_missing_key_is_reported_at_chat_new(stdio_client: Client) -> None:
    with pytest.raises(RpcError) as caught:
        await stdio_client.request("chat/new", {"provider": "claude"})
    assert (caught.value.code, caught.value.reason) == (-32030, "provider_unavailable")
    assert "ANTHROPIC_API_KEY" in caught.value.message
    with pytest.raises(RpcError) as caught:
        await stdio_client.request("chat/new", {"provider": "nope"})
    assert caught.value.reason == "provider_unavailable"


async def test_save_fork_restore_close_delete(stdio_client: Client) -> None:
    created = await stdio_client.request(
        "chat/new",
        {"systemPrompt": "be brief", "title": "my chat", "metadata": {"project": "chatd"}},
    )
    session_id = created["sessionId"]
    await stdio_client.request("chat/send", {"sessionId": session_id, "message": "hi"})
    saved = await stdio_client.request("chat/save", {"sessionId": session_id})
    assert saved == {"snapshotId": session_id, "revision": 2}
    fork = await stdio_client.request("chat/save", {"sessionId": session_id, "fork": True})
    assert fork["snapshotId"] != session_id and fork["revision"] == 1

    listing = await stdio_client.request("store/list", {})
    by_id = {item["id"]: item for item in listing["items"]}
    assert by_id[session_id]["title"] == "my chat"
    assert by_id[session_id]["metadata"] == {"project": "chatd"}
    assert by_id[session_id]["messageCount"] == 2

    restored = await stdio_client.request("chat/restore", {"snapshotId": fork["snapshotId"]})
    assert restored["systemPrompt"] == "be brief"
    assert [item["text"] for item in restored["history"]] == ["hi", "[1] hi"]
    assert restored["historyCursor"] is None
    reply = await stdio_client.request(
        "chat/send", {"sessionId": fork["snapshotId"], "message": "again"}
    )
    assert reply["text"] == "[2] again"

    assert await stdio_client.request("chat/close", {"sessionId": session_id}) is None
    assert await stdio_client.request("store/delete", {"snapshotId": session_id}) is None
    with pytest.raises(RpcError) as caught:
        await stdio_client.request("chat/restore", {"snapshotId": session_id})
    assert caught.value.reason == "snapshot_not_found"
    with pytest.raises(RpcError) as caught:
        await stdio_client.request("store/delete", {"snapshotId": session_id})
    assert caught.value.reason == "snapshot_not_found"


async def test_history_pages_from_newest(stdio_client: Client) -> None:
    session_id = (await stdio_client.request("chat/new", {}))["sessionId"]
    for index in range(5):
        await stdio_client.request("chat/send", {"sessionId": session_id, "message": f"m{index}"})
    page = await stdio_client.request("chat/history", {"sessionId": session_id, "limit": 4})
    assert [item["text"] for item in page["items"]] == ["m3", "[4] m3", "m4", "[5] m4"]
    texts: list[str] = []
    cursor = page["nextCursor"]
    while cursor is not None:
        older = await stdio_client.request(
            "chat/history", {"sessionId": session_id, "limit": 4, "cursor": cursor}
        )
        texts = [item["text"] for item in older["items"]] + texts
        cursor = older["nextCursor"]
    assert texts[0] == "m0" and len(texts) == 6
    with pytest.raises(RpcError) as caught:
        await stdio_client.request("chat/history", {"sessionId": session_id, "cursor": "zz"})
    assert caught.value.data == {"reason": "invalid_params", "field": "cursor"}


async def test_a_lone_surrogate_in_a_snapshot_reads_as_a_replacement_character(
    daemon_env: DaemonEnv,
) -> None:
    """Valid JSON but no text (a hand-edited snapshot): the history is still readable, with
    U+FFFD where the surrogate was, and the conversation continues."""
    messages = [
        {"role": "user", "content": "half a pair: \ud800"},
        {"role": "assistant", "content": "[1] half a pair"},
    ]
    snapshot = make_snapshot(provider="echo", model="echo-1", messages=messages)
    FileStore(daemon_env.store_dir).save(snapshot)
    client = await spawn(daemon_env)
    try:
        history = await client.request("chat/history", {"sessionId": snapshot.id})
        assert [item["text"] for item in history["items"]] == [
            "half a pair: \ufffd",
            "[1] half a pair",
        ]
        sent = await client.chat_send("and on", session_id=snapshot.id)
        assert sent["text"] == "[2] and on"
    finally:
        await client.close()


async def test_ephemeral_sessions_are_never_written(
    stdio_client: Client, daemon_env: DaemonEnv
) -> None:
    session_id = (await stdio_client.request("chat/new", {"ephemeral": True}))["sessionId"]
    result = await stdio_client.request("chat/send", {"sessionId": session_id, "message": "x"})
    assert result["revision"] == 0
    assert (await stdio_client.request("store/list", {}))["items"] == []
    assert not any(daemon_env.store_dir.glob("*.json"))


async def test_idle_sessions_are_evicted_and_resume_transparently(
    daemon_env: DaemonEnv,
) -> None:
    daemon_env.config.write_text("[daemon]\nidle_evict_s = 0.2\n")
    client = await spawn(daemon_env)
    try:
        session_id = (await client.request("chat/send", {"message": "a"}))["sessionId"]
        for _ in range(100):
            if (await client.request("daemon/status"))["liveSessions"] == 0:
                break
            await asyncio.sleep(0.05)
        assert (await client.request("daemon/status"))["liveSessions"] == 0
        again = await client.request("chat/send", {"sessionId": session_id, "message": "b"})
        assert again["text"] == "[2] b"
    finally:
        await client.close()


async def test_stdio_exit_statuses(daemon_env: DaemonEnv) -> None:
    client = await spawn(daemon_env)
    await client.request("shutdown")
    await client.notify("exit")
    assert client.process is not None
    assert await asyncio.wait_for(client.process.wait(), 20) == 0
    await client.close()

    client = await spawn(daemon_env)
    await client.notify("exit")
    assert client.process is not None
    assert await asyncio.wait_for(client.process.wait(), 20) == 1
    await client.close()

    client = await spawn(daemon_env)
    await client.close()
    assert client.process is not None and client.process.returncode == 0


async def test_disconnect_mid_turn_cancels_and_saves(daemon_env: DaemonEnv) -> None:
    process = daemon_env.start_socket_daemon(**SLOW)
    try:
        client = await Client.connect_unix(daemon_env.socket)
        await client.initialize()
        updates = Updates(client)
        session_id = (await client.request("chat/new", {}))["sessionId"]
        turn = asyncio.create_task(
            client.request("chat/send", {"sessionId": session_id, "message": "vanishing"})
        )
        await asyncio.wait_for(updates.first_text.wait(), 20)
        await client.close()
        turn.cancel()
        other = await Client.connect_unix(daemon_env.socket)
        await other.initialize()
        for _ in range(100):
            listing = await other.request("store/list", {})
            if listing["items"]:
                break
            await asyncio.sleep(0.05)
        history = await other.request("chat/history", {"sessionId": session_id})
        assert history["items"][0]["text"] == "vanishing"
        assert "[1] vanishing".startswith(history["items"][1]["text"])
        await other.close()
    finally:
        assert stop(process) == 0


async def test_sigterm_cancels_the_running_turn_and_saves_it(daemon_env: DaemonEnv) -> None:
    process = daemon_env.start_socket_daemon(**SLOW)
    client = await Client.connect_unix(daemon_env.socket)
    await client.initialize()
    updates = Updates(client)
    turn = asyncio.create_task(client.request("chat/send", {"message": "interrupted"}))
    await asyncio.wait_for(updates.first_text.wait(), 20)
    process.send_signal(signal.SIGTERM)
    result = await asyncio.wait_for(turn, 20)
    assert result["stopReason"] == "cancelled"
    await client.close()
    assert stop(process) == 0

    restarted = await spawn(daemon_env)
    try:
        history = await restarted.request("chat/history", {"sessionId": result["sessionId"]})
        assert [item["text"] for item in history["items"]] == ["interrupted", result["text"]]
    finally:
        await restarted.close()
