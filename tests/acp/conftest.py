"""ACP agents as real subprocesses (``chatd acp``), each with its own config and store."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from chatd_client import daemon_command
from tests.fakes.provider_server import FakeProviderServer
from tests.integration.conftest import DaemonEnv, stop


class AcpEnv(DaemonEnv):
    """A daemon environment plus a workspace directory to use as the ACP ``cwd``."""

    def __init__(self, root: Path, socket_dir: Path) -> None:
        super().__init__(root, socket_dir)
        self.workspace = root / "workspace"
        self.workspace.mkdir()

    @property
    def cwd(self) -> str:
        return str(self.workspace)


@pytest.fixture
def acp_env(tmp_path: Path) -> Iterator[AcpEnv]:
    socket_dir = Path(tempfile.mkdtemp(prefix="chatd-", dir="/tmp"))
    try:
        yield AcpEnv(tmp_path, socket_dir / "run")
    finally:
        shutil.rmtree(socket_dir, ignore_errors=True)


@pytest.fixture
def claude(acp_env: AcpEnv, fake_server: FakeProviderServer) -> FakeProviderServer:
    """The fake provider server as Claude's API, the agent's default provider."""
    acp_env.config.write_text(
        'default_provider = "claude"\n[providers.claude]\n'
        f'base_url = "{fake_server.url}"\napi_key = "test-key"\nmax_retries = 0\n'
    )
    return fake_server


class RawAgent:
    """JSON lines in and out, for input the SDKs would never send."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self.stdin = process.stdin
        self.stdout = process.stdout
        self.notifications: list[Any] = []
        self._next_id = 0

    async def send_line(self, data: bytes) -> None:
        self.stdin.write(data + b"\n")
        await self.stdin.drain()

    async def send(self, message: Any) -> None:
        await self.send_line(json.dumps(message).encode())

    async def receive(self, within: float = 20) -> Any:
        line = await asyncio.wait_for(self.stdout.readline(), within)
        if not line:
            raise EOFError("the agent closed its stdout")
        return json.loads(line)

    async def response(self, request_id: Any) -> Any:
        """The answer to ``request_id``; notifications before it are kept."""
        while True:
            message = await self.receive()
            if "method" in message:
                self.notifications.append(message)
            elif message.get("id") == request_id:
                return message

    async def call(self, method: str, params: Any = None) -> Any:
        self._next_id += 1
        await self.send(
            {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params or {}}
        )
        return await self.response(self._next_id)


@contextlib.asynccontextmanager
async def raw_agent(env: AcpEnv, *args: str, **extra: str) -> AsyncIterator[RawAgent]:
    """``chatd acp`` (or ``chatd *args``) on raw pipes."""
    process = await asyncio.create_subprocess_exec(
        *daemon_command(*(args or ("acp",))),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env.env(**extra),
    )
    agent = RawAgent(process)
    try:
        yield agent
    finally:
        if process.returncode is None:
            agent.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()


__all__ = ["AcpEnv", "RawAgent", "raw_agent", "stop"]
