"""A real daemon per test, as a subprocess, isolated by its own config, store and socket."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from chatd_client import Client, daemon_command
from chatd_client.framing import Frame, FrameParser, encode_frame


class DaemonEnv:
    """Paths and environment of one isolated daemon."""

    def __init__(self, root: Path, socket_dir: Path) -> None:
        self.root = root
        self.config = root / "config.toml"
        self.config.write_text("")
        self.store_dir = root / "store"
        self.socket = socket_dir / "chatd.sock"
        self.vars = {
            "CHATD_CONFIG": str(self.config),
            "CHATD_STORE_DIR": str(self.store_dir),
            "CHATD_SOCKET": str(self.socket),
        }
        self.starts = 0

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, **self.vars, **extra}

    def accepts_connections(self) -> bool:
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(self.socket))
            except OSError:
                return False
            return True

    def start_socket_daemon(self, *args: str, **extra: str) -> subprocess.Popen[bytes]:
        """Run ``chatd serve --socket`` and wait until it accepts connections.

        Its stderr goes to a file beside the store (a pipe nobody reads would block it).
        """
        self.starts += 1
        log = self.root / f"daemon-{self.starts}.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                daemon_command("serve", "--socket", *args),
                env=self.env(**extra),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        deadline = time.monotonic() + 30
        while not self.accepts_connections():
            if process.poll() is not None:
                raise AssertionError(f"daemon exited early: {log.read_text()}")
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError("daemon did not start listening")
            time.sleep(0.02)
        return process


@pytest.fixture
def daemon_env(tmp_path: Path) -> Iterator[DaemonEnv]:
    socket_dir = Path(tempfile.mkdtemp(prefix="chatd-", dir="/tmp"))  # short: sun_path ≤ 108
    try:
        yield DaemonEnv(tmp_path, socket_dir / "run")
    finally:
        shutil.rmtree(socket_dir, ignore_errors=True)


@pytest.fixture
def socket_daemon(daemon_env: DaemonEnv) -> Iterator[subprocess.Popen[bytes]]:
    process = daemon_env.start_socket_daemon()
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@pytest.fixture
async def stdio_client(daemon_env: DaemonEnv) -> AsyncIterator[Client]:
    client = await Client.spawn_stdio(env=daemon_env.env())
    try:
        await client.initialize("pytest")
        yield client
    finally:
        await client.close()


class RawPeer:
    """Bytes in, frames out: for malformed input the client library would never send."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.parser = FrameParser(2**28)
        self.frames: list[Any] = []

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def request(self, message: Any) -> None:
        await self.send(encode_frame(message))

    async def receive(self, within: float = 20) -> Any:
        """The next message from the daemon."""
        while not self.frames:
            event = self.parser.next_event()
            if isinstance(event, Frame):
                self.frames.append(json.loads(event.body))
                continue
            assert event is None, event
            chunk = await asyncio.wait_for(self.reader.read(65536), within)
            if not chunk:
                raise EOFError("daemon closed the stream")
            self.parser.feed(chunk)
        return self.frames.pop(0)

    async def response(self, request_id: Any, within: float = 20) -> Any:
        """Skip notifications up to the response with ``request_id``."""
        while True:
            message = await self.receive(within)
            if "method" not in message and message.get("id") == request_id:
                return message


@pytest.fixture
async def raw_stdio(daemon_env: DaemonEnv) -> AsyncIterator[RawPeer]:
    process = await asyncio.create_subprocess_exec(
        *daemon_command("serve", "--stdio"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=daemon_env.env(),
    )
    assert process.stdin is not None and process.stdout is not None
    peer = RawPeer(process.stdout, process.stdin)
    try:
        yield peer
    finally:
        await end_stdio_process(process)


async def end_stdio_process(process: asyncio.subprocess.Process) -> None:
    """EOF on its stdin, then a kill if it does not exit by itself."""
    if process.returncode is None:
        assert process.stdin is not None
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()


@pytest.fixture
async def raw_socket(daemon_env: DaemonEnv, socket_daemon: Any) -> AsyncIterator[RawPeer]:
    reader, writer = await asyncio.open_unix_connection(str(daemon_env.socket))
    try:
        yield RawPeer(reader, writer)
    finally:
        writer.close()


@pytest.fixture(params=["stdio", "socket"])
def raw_peer(request: pytest.FixtureRequest) -> RawPeer:
    """The same wire tests over both transports."""
    peer: RawPeer = request.getfixturevalue(f"raw_{request.param}")
    return peer
