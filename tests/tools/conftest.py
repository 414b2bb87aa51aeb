"""A real daemon talking to the fake provider APIs, and scripts hosting tools for it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from chatd_client import Client
from tests.fakes.provider_server import FakeProviderServer
from tests.integration.conftest import DaemonEnv, stop

KINDS = ("claude", "openai", "gemini")


def provider_config(url: str) -> str:
    return "".join(
        f'[providers.{kind}]\nbase_url = "{url + "/v1" if kind == "openai" else url}"\n'
        'api_key = "test-key"\nmax_retries = 0\n'
        for kind in KINDS
    )


@pytest.fixture
def daemon_env(tmp_path: Path, fake_server: FakeProviderServer) -> Iterator[DaemonEnv]:
    socket_dir = Path(tempfile.mkdtemp(prefix="chatd-", dir="/tmp"))  # short: sun_path ≤ 108
    env = DaemonEnv(tmp_path, socket_dir / "run")
    env.config.write_text(provider_config(fake_server.url))
    try:
        yield env
    finally:
        shutil.rmtree(socket_dir, ignore_errors=True)


async def spawn(daemon_env: DaemonEnv) -> Client:
    client = await Client.spawn_stdio(env=daemon_env.env())
    await client.initialize("pytest")
    return client


@pytest.fixture
async def client(daemon_env: DaemonEnv) -> AsyncIterator[Client]:
    connection = await spawn(daemon_env)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def socket_pair(daemon_env: DaemonEnv) -> AsyncIterator[tuple[Client, Client]]:
    """Two connections to one socket daemon: one sends the turns, one hosts the tools."""
    process = daemon_env.start_socket_daemon()
    connections: list[Client] = []
    try:
        for name in ("sender", "host"):
            connection = await Client.connect_unix(daemon_env.socket)
            await connection.initialize(name)
            connections.append(connection)
        yield connections[0], connections[1]
    finally:
        for connection in connections:
            await connection.close()
        stop(process)
