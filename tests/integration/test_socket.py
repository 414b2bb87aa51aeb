"""The unix socket: permissions, single instance, stale files, many isolated clients."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import sys
from typing import Any

import pytest

from chatd_client import Client, RpcError, daemon_command
from tests.integration.conftest import DaemonEnv, stop

pytestmark = pytest.mark.anyio


async def connect(daemon_env: DaemonEnv) -> Client:
    client = await Client.connect_unix(daemon_env.socket)
    await client.initialize()
    return client


async def test_socket_and_directory_are_private(
    daemon_env: DaemonEnv, socket_daemon: subprocess.Popen[bytes]
) -> None:
    assert stat.S_IMODE(daemon_env.socket.stat().st_mode) == 0o600
    assert stat.S_IMODE(daemon_env.socket.parent.stat().st_mode) == 0o700
    assert stat.S_ISSOCK(daemon_env.socket.stat().st_mode)


async def test_loose_socket_directory_is_tightened(daemon_env: DaemonEnv) -> None:
    daemon_env.socket.parent.mkdir(mode=0o755)
    os.chmod(daemon_env.socket.parent, 0o755)
    process = daemon_env.start_socket_daemon()
    try:
        assert stat.S_IMODE(daemon_env.socket.parent.stat().st_mode) == 0o700
    finally:
        stop(process)


async def test_second_daemon_on_the_same_socket_is_refused(
    daemon_env: DaemonEnv, socket_daemon: subprocess.Popen[bytes]
) -> None:
    second = await asyncio.to_thread(
        subprocess.run,
        daemon_command("serve", "--socket"),
        env=daemon_env.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert f"pid {socket_daemon.pid}" in second.stderr
    assert "Traceback" not in second.stderr
    client = await connect(daemon_env)
    assert (await client.request("daemon/status"))["pid"] == socket_daemon.pid
    await client.close()


async def test_stale_socket_after_kill_9_is_replaced(daemon_env: DaemonEnv) -> None:
    first = daemon_env.start_socket_daemon()
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert daemon_env.socket.exists()
    second = daemon_env.start_socket_daemon()
    try:
        client = await connect(daemon_env)
        assert (await client.request("daemon/status"))["pid"] == second.pid
        await client.close()
    finally:
        assert stop(second) == 0


async def test_daemon_stop_ends_the_process(daemon_env: DaemonEnv) -> None:
    process = daemon_env.start_socket_daemon()
    client = await connect(daemon_env)
    assert await client.request("daemon/stop") is None
    await client.close()
    assert process.wait(timeout=20) == 0
    assert not daemon_env.socket.exists()


async def test_clients_on_two_sessions_are_isolated(
    daemon_env: DaemonEnv, socket_daemon: subprocess.Popen[bytes]
) -> None:
    first, second = await connect(daemon_env), await connect(daemon_env)
    seen: dict[str, list[str]] = {"first": [], "second": []}
    first.on_notification(lambda m, p: seen["first"].append(p["sessionId"]))
    second.on_notification(lambda m, p: seen["second"].append(p["sessionId"]))
    one, two = await asyncio.gather(
        first.request("chat/send", {"message": "from first"}),
        second.request("chat/send", {"message": "from second"}),
    )
    assert (one["text"], two["text"]) == ("[1] from first", "[1] from second")
    assert set(seen["first"]) == {one["sessionId"]}
    assert set(seen["second"]) == {two["sessionId"]}
    await first.close()
    await second.close()


async def test_clients_on_one_session_share_updates_and_its_turn(
    daemon_env: DaemonEnv,
) -> None:
    process = daemon_env.start_socket_daemon(CHATD_ECHO_DELAY_MS="150")
    try:
        owner, watcher = await connect(daemon_env), await connect(daemon_env)
        session_id = (await owner.request("chat/new", {}))["sessionId"]
        await watcher.request("chat/history", {"sessionId": session_id})
        watched: list[dict[str, Any]] = []
        watcher.on_notification(lambda m, p: watched.append(p))
        turn = asyncio.create_task(
            owner.request("chat/send", {"sessionId": session_id, "message": "shared"})
        )
        await asyncio.sleep(0.05)
        with pytest.raises(RpcError) as caught:
            await watcher.request("chat/send", {"sessionId": session_id, "message": "me too"})
        assert caught.value.reason == "session_busy"
        result = await turn
        text = "".join(u["text"] for u in watched if u["kind"] == "text")
        assert text == result["text"] == "[1] shared"
        await owner.close()
        await watcher.close()
    finally:
        stop(process)


async def test_many_concurrent_clients(
    daemon_env: DaemonEnv, socket_daemon: subprocess.Popen[bytes]
) -> None:
    clients = [await connect(daemon_env) for _ in range(12)]
    results = await asyncio.gather(
        *(c.request("chat/send", {"message": f"client {i}"}) for i, c in enumerate(clients))
    )
    assert [r["text"] for r in results] == [f"[1] client {i}" for i in range(12)]
    assert len({r["sessionId"] for r in results}) == 12
    for client in clients:
        await client.close()


async def test_stdio_and_an_explicit_socket_at_once(daemon_env: DaemonEnv) -> None:
    explicit = daemon_env.socket.parent / "nested" / "explicit.sock"
    stdio = await Client.spawn_stdio(
        command=daemon_command("serve", "--stdio", "--socket", str(explicit)), env=daemon_env.env()
    )
    try:
        await stdio.initialize()
        session_id = (await stdio.chat_send("over stdio"))["sessionId"]
        for _ in range(200):
            if explicit.exists():
                break
            await asyncio.sleep(0.02)
        assert stat.S_IMODE(explicit.parent.stat().st_mode) == 0o700
        socket_client = await Client.connect_unix(explicit)
        await socket_client.initialize()
        reply = await socket_client.chat_send("over the socket", session_id=session_id)
        assert reply["text"] == "[2] over the socket"
        await socket_client.close()
    finally:
        await stdio.close()
    assert not explicit.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to connect as another user")
async def test_other_users_are_refused_even_when_permissions_are_loose(
    daemon_env: DaemonEnv, socket_daemon: subprocess.Popen[bytes]
) -> None:
    for directory in (daemon_env.socket.parent.parent, daemon_env.socket.parent):
        os.chmod(directory, 0o755)
    os.chmod(daemon_env.socket, 0o666)
    probe = """
import os, socket, sys
os.setgid(65534)
os.setuid(65534)
connection = socket.socket(socket.AF_UNIX)
connection.connect(sys.argv[1])
connection.settimeout(10)
body = b'{"jsonrpc":"2.0","id":1,"method":"initialize"}'
try:
    connection.sendall(b"Content-Length: %d\\r\\n\\r\\n%s" % (len(body), body))
    print(repr(connection.recv(100)))
except (BrokenPipeError, ConnectionResetError):
    print(repr(b""))
"""
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", probe, str(daemon_env.socket)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "b''"
