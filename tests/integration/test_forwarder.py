"""``chatd serve --stdio --shared``: editors' stdio forwarded to the real socket daemon."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

import chatd
from chatd_client import Client, daemon_command
from chatd_client.framing import encode_frame
from tests.fakes.provider_server import Call, FakeProviderServer, Reply
from tests.integration.conftest import DaemonEnv, RawPeer, end_stdio_process, stop
from tests.providers import wire
from tests.providers.test_daemon_providers import provider_config

pytestmark = pytest.mark.anyio

FORWARDER = daemon_command("serve", "--stdio", "--shared")


class Editor(RawPeer):
    """A forwarder process, driven like an editor drives it: frames on its stdin and stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdin is not None and process.stdout is not None
        super().__init__(process.stdout, process.stdin)
        self.process = process
        self.next_id = 0

    async def call(self, method: str, params: Any = None, within: float = 30) -> Any:
        """One request; the whole response (result or error)."""
        self.next_id += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            message["params"] = params
        await self.request(message)
        return await self.response(self.next_id, within)

    async def result(self, method: str, params: Any = None) -> Any:
        answer = await self.call(method, params)
        assert "result" in answer, answer
        return answer["result"]

    async def exit_status(self, within: float = 20) -> int:
        return await asyncio.wait_for(self.process.wait(), within)


@asynccontextmanager
async def editor(
    daemon_env: DaemonEnv, *, argv: list[str] | None = None, **extra: str
) -> AsyncIterator[Editor]:
    process = await asyncio.create_subprocess_exec(
        *(argv or FORWARDER),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=daemon_env.env(**extra),
        limit=2**20,
    )
    peer = Editor(process)
    try:
        yield peer
    finally:
        await end_stdio_process(process)


async def initialized(peer: Editor) -> dict[str, Any]:
    result: dict[str, Any] = await peer.result("initialize", {"clientInfo": {"name": "pytest"}})
    return result


async def socket_client(daemon_env: DaemonEnv) -> Client:
    client = await Client.connect_unix(daemon_env.socket)
    await client.initialize("pytest-direct")
    return client


def daemon_pid(daemon_env: DaemonEnv) -> int:
    return int((daemon_env.socket.parent / "chatd.sock.lock").read_text())


def kill_daemon(daemon_env: DaemonEnv) -> None:
    pid = daemon_pid(daemon_env)
    os.kill(pid, signal.SIGKILL)


async def stop_started_daemon(daemon_env: DaemonEnv) -> None:
    """Stop a daemon a forwarder started (it is not our child)."""
    if daemon_env.accepts_connections():
        async with await socket_client(daemon_env) as client:
            await client.daemon_stop()


async def test_imports_neither_pygls_nor_an_sdk_nor_the_store(
    daemon_env: DaemonEnv, socket_daemon: Any
) -> None:
    argv = [sys.executable, "-X", "importtime", *FORWARDER[1:]]
    async with editor(daemon_env, argv=argv) as peer:
        assert (await initialized(peer))["serverInfo"]["version"] == chatd.__version__
        assert peer.process.stdin is not None
        peer.process.stdin.close()
        assert await peer.exit_status() == 0
        assert peer.process.stderr is not None
        timings = (await peer.process.stderr.read()).decode()
    loaded = {line.split("|")[-1].strip() for line in timings.splitlines() if "|" in line}
    assert "chatd.transport.forwarder" in loaded
    heavy = ("pygls", "lsprotocol", "anthropic", "openai", "google", "cryptography", "asyncio")
    assert not {m for m in loaded if m.split(".")[0] in heavy}
    assert not {m for m in loaded if m.startswith(("chatd.core", "chatd.rpc.server"))}


SIZES = [0, 1, 100, 65_535, 65_536, 65_537, 1_000_000, 3_000_000]


async def test_frames_of_every_size_pass_both_ways(
    daemon_env: DaemonEnv, socket_daemon: Any
) -> None:
    async with editor(daemon_env) as peer:
        await initialized(peer)
        session = (await peer.result("chat/new", {}))["sessionId"]
        for turn, size in enumerate(SIZES, start=1):
            message = ("é" * (size // 2)) + ("x" * (size % 2))
            await peer.request(
                {
                    "jsonrpc": "2.0",
                    "id": f"s{turn}",
                    "method": "chat/send",
                    "params": {"sessionId": session, "message": message},
                }
            )
            streamed, answer = "", None
            while answer is None:
                frame = await peer.receive(60)
                if frame.get("method") == "chat/update" and frame["params"]["kind"] == "text":
                    streamed += frame["params"]["text"]
                elif frame.get("id") == f"s{turn}":
                    answer = frame
            assert answer["result"]["text"] == streamed == f"[{turn}] {message}"


async def test_frames_split_and_joined_arrive_whole(
    daemon_env: DaemonEnv, socket_daemon: Any
) -> None:
    async with editor(daemon_env) as peer:
        init = encode_frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}})
        for offset in range(len(init)):  # one byte at a time
            await peer.send(init[offset : offset + 1])
        assert "result" in await peer.response(1)
        joined = b"".join(
            encode_frame({"jsonrpc": "2.0", "id": n, "method": "store/list"}) for n in (2, 3, 4)
        )
        await peer.send(joined)
        answered = []  # in any order: the daemon runs requests concurrently
        while len(answered) < 3:
            if "method" not in (message := await peer.receive()):
                answered.append(message["id"])
        assert sorted(answered) == [2, 3, 4]
        await peer.request({"jsonrpc": "2.0", "id": [5], "method": "store/list"})  # a bad id
        await peer.send(b"Content-Length: 3\r\n\r\n{x}")  # not JSON
        assert (await peer.receive())["error"]["data"]["reason"] == "invalid_request"
        assert (await peer.receive())["error"]["data"]["reason"] == "parse_error"
        assert "items" in await peer.result("store/list")


async def test_a_frame_over_the_limit_is_refused_by_the_daemon_and_the_rest_pass(
    daemon_env: DaemonEnv,
) -> None:
    daemon_env.config.write_text("[daemon]\nmax_frame_bytes = 4096\n")
    process = daemon_env.start_socket_daemon()
    try:
        async with editor(daemon_env) as peer:
            await initialized(peer)
            oversized = {"message": "x" * 10_000}
            too_large = {"jsonrpc": "2.0", "id": 7, "method": "chat/send", "params": oversized}
            await peer.request(too_large)
            refused = await peer.receive()
            assert refused["id"] is None
            assert refused["error"]["data"]["reason"] == "frame_too_large"
            assert "items" in await peer.result("store/list", {})
    finally:
        stop(process)


async def test_two_editors_on_one_session_both_see_its_updates(
    daemon_env: DaemonEnv, socket_daemon: Any
) -> None:
    async with editor(daemon_env) as first, editor(daemon_env) as second:
        await initialized(first)
        await initialized(second)
        session = (await first.result("chat/new", {}))["sessionId"]
        await second.result("chat/history", {"sessionId": session})  # attaches the second
        assert (await first.result("chat/send", {"sessionId": session, "message": "hi"}))[
            "text"
        ] == "[1] hi"
        seen = ""
        while "[1] hi" not in seen:
            update = await second.receive()
            assert update["method"] == "chat/update"
            if update["params"]["kind"] == "text":
                seen += update["params"]["text"]
        assert update["params"]["sessionId"] == session


async def test_server_to_client_requests_and_their_answers_pass_unchanged(
    daemon_env: DaemonEnv, fake_server: FakeProviderServer
) -> None:
    """The model (a fake Claude API) calls a tool the editor hosts: the daemon's ``tool/call``
    reaches the editor whole, and the editor's answer reaches the model."""
    daemon_env.config.write_text(provider_config("claude", fake_server.url))
    blob = "z" * 200_000
    fake_server.script(Reply(calls=[Call("read_buffer", {"blob": blob}, id="t1")]), Reply("done"))
    process = daemon_env.start_socket_daemon()
    tool = {"name": "read_buffer", "description": "The buffer", "parameters": {"type": "object"}}
    try:
        async with editor(daemon_env) as peer:
            await initialized(peer)
            params = {"provider": "claude", "tools": [tool]}
            session = (await peer.result("chat/new", params))["sessionId"]
            turn = {"sessionId": session, "message": "read it"}
            await peer.request(
                {"jsonrpc": "2.0", "id": "turn", "method": "chat/send", "params": turn}
            )
            while "method" not in (asked := await peer.receive()) or asked["method"] != "tool/call":
                pass
            assert asked["params"]["arguments"] == {"blob": blob}
            answer = {"jsonrpc": "2.0", "id": asked["id"], "result": {"content": "print(1)\n"}}
            await peer.request(answer)
            assert (await peer.response("turn"))["result"]["text"] == "done"
    finally:
        stop(process)
    assert [text for _, text, _ in wire.tool_results(fake_server.requests[-1])] == ["print(1)\n"]


async def test_editor_eof_ends_the_forwarder_and_the_daemon_keeps_running(
    daemon_env: DaemonEnv, socket_daemon: Any
) -> None:
    async with editor(daemon_env) as peer:
        await initialized(peer)
        assert peer.process.stdin is not None
        peer.process.stdin.close()
        assert await peer.exit_status() == 0
    async with await socket_client(daemon_env) as client:
        assert (await client.daemon_status())["connections"] == 1


async def test_a_killed_forwarder_ends_its_editors_connection_in_the_daemon(
    daemon_env: DaemonEnv, socket_daemon: Any
) -> None:
    async with editor(daemon_env) as peer:
        await initialized(peer)
        async with await socket_client(daemon_env) as client:
            assert (await client.daemon_status())["connections"] == 2
            peer.process.kill()
            await peer.process.wait()
            for _ in range(1000):  # the daemon notices within a loop turn or two
                if (await client.daemon_status())["connections"] == 1:
                    break
                await asyncio.sleep(0.02)
            else:
                pytest.fail("the editor's connection outlived its forwarder")


async def test_shutdown_and_exit_end_it_with_status_zero(
    daemon_env: DaemonEnv, socket_daemon: Any
) -> None:
    async with editor(daemon_env) as peer:
        await initialized(peer)
        assert (await peer.call("shutdown"))["result"] is None
        await peer.request({"jsonrpc": "2.0", "method": "exit"})
        assert await peer.exit_status() == 0


async def test_daemon_stopping_ends_the_forwarder(
    daemon_env: DaemonEnv, socket_daemon: subprocess.Popen[bytes]
) -> None:
    async with editor(daemon_env) as peer:
        await initialized(peer)
        async with await socket_client(daemon_env) as client:
            await client.daemon_stop()
        assert await peer.exit_status() == 1
        assert socket_daemon.wait(20) == 0


async def test_daemon_killed_mid_turn_the_editor_gets_an_error_then_reconnects(
    daemon_env: DaemonEnv,
) -> None:
    slow = {"CHATD_ECHO_DELAY_MS": "400"}
    async with editor(daemon_env, **slow) as peer:  # no daemon yet: the forwarder starts one
        await initialized(peer)
        session = (await peer.result("chat/send", {"message": "one"}))["sessionId"]
        await peer.request(
            {
                "jsonrpc": "2.0",
                "id": "turn",
                "method": "chat/send",
                "params": {"sessionId": session, "message": "two"},
            }
        )
        while (await peer.receive()).get("method") != "chat/update":
            pass
        kill_daemon(daemon_env)
        with pytest.raises(EOFError):  # the editor's stdout closes, as a private daemon's would
            await peer.response("turn")
        assert await peer.exit_status() == 1
    async with editor(daemon_env) as peer:  # the next command: a new forwarder, a new daemon
        await initialized(peer)
        again = await peer.result("chat/send", {"sessionId": session, "message": "three"})
        assert again["text"] == "[2] three"  # "one" was saved; the killed turn left no trace
    await stop_started_daemon(daemon_env)


async def test_concurrent_forwarders_start_one_daemon(daemon_env: DaemonEnv) -> None:
    async with editor(daemon_env) as first, editor(daemon_env) as second:
        results = await asyncio.gather(initialized(first), initialized(second))
        assert all(r["serverInfo"]["name"] == "chatd" for r in results)
        pids = {(await peer.result("daemon/status"))["pid"] for peer in (first, second)}
        assert len(pids) == 1
    await stop_started_daemon(daemon_env)


OLD_DAEMON = (
    "import sys, chatd; chatd.__version__ = '0.0.1'; from chatd.cli.main import main; "
    "sys.argv = ['chatd', 'serve', '--socket']; main()"
)


def start_old_daemon(daemon_env: DaemonEnv) -> subprocess.Popen[bytes]:
    old = subprocess.Popen(
        [sys.executable, "-c", OLD_DAEMON], env=daemon_env.env(), stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while not daemon_env.accepts_connections():
        assert old.poll() is None and time.monotonic() < deadline, "the old daemon did not start"
        time.sleep(0.02)
    return old


async def test_a_daemon_of_another_version_is_an_error_naming_chatd_stop(
    daemon_env: DaemonEnv,
) -> None:
    old = start_old_daemon(daemon_env)
    try:
        async with editor(daemon_env) as peer:
            refused = await peer.call("initialize", {})
            error = refused["error"]
            assert error["code"] == -32050
            assert error["data"] == {
                "reason": "version_mismatch",
                "daemonVersion": "0.0.1",
                "forwarderVersion": chatd.__version__,
                "socket": str(daemon_env.socket),
            }
            assert "chatd stop" in error["message"]
            assert (await peer.call("store/list"))["error"]["data"]["reason"] == "version_mismatch"
            assert (await peer.call("shutdown"))["result"] is None
            await peer.request({"jsonrpc": "2.0", "method": "exit"})
            assert await peer.exit_status() == 0
    finally:
        stop(old)


async def test_a_daemon_that_cannot_start_is_an_error_with_its_reason(
    daemon_env: DaemonEnv,
) -> None:
    async with editor(daemon_env, CHATD_STORE_KEY="c2hvcnQ=") as peer:
        refused = (await peer.call("initialize", {}))["error"]
        assert refused["code"] == -32051
        assert refused["data"]["reason"] == "daemon_unreachable"
        assert "before listening" in refused["message"]
        assert "must be 32 bytes" in refused["message"]  # the daemon's own words
        assert (await peer.call("shutdown"))["result"] is None


async def test_with_config_it_runs_through_the_cli_the_same(
    daemon_env: DaemonEnv, socket_daemon: Any
) -> None:
    argv = daemon_command("--config", str(daemon_env.config), "serve", "--shared", "--stdio")
    async with editor(daemon_env, argv=argv) as peer:
        assert (await initialized(peer))["serverInfo"]["version"] == chatd.__version__
        assert "items" in await peer.result("store/list", {})


def test_shared_goes_with_stdio_alone(daemon_env: DaemonEnv) -> None:
    for extra in (["--shared"], ["--shared", "--stdio", "--socket"]):
        done = subprocess.run(
            daemon_command("serve", *extra), env=daemon_env.env(), capture_output=True, text=True
        )
        assert done.returncode == 2 and "--shared goes with --stdio alone" in done.stderr
