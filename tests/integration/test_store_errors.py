"""Store failures as a client sees them: documented codes, nothing lost, daemon still serving."""

from __future__ import annotations

import os

import pytest

from chatd_client import Client, RpcError
from tests.integration.conftest import DaemonEnv

pytestmark = pytest.mark.anyio


async def spawn(daemon_env: DaemonEnv, **extra: str) -> Client:
    client = await Client.spawn_stdio(env=daemon_env.env(**extra))
    await client.initialize("pytest")
    return client


async def test_corrupt_snapshot_is_reported_not_hidden(
    stdio_client: Client, daemon_env: DaemonEnv
) -> None:
    good = (await stdio_client.chat_send("fine"))["sessionId"]
    broken = "11111111-1111-4111-8111-111111111111"
    (daemon_env.store_dir / f"{broken}.json").write_text('{"id": "1111", "messages": [')
    os.chmod(daemon_env.store_dir / f"{broken}.json", 0o600)
    with pytest.raises(RpcError) as caught:
        await stdio_client.chat_restore(broken)
    assert (caught.value.code, caught.value.reason) == (-32023, "snapshot_corrupt")
    listing = await stdio_client.store_list()
    assert [item["id"] for item in listing["items"]] == [good]
    assert listing["problems"][0]["file"] == f"{broken}.json"
    assert listing["problems"][0]["reason"] == "snapshot_corrupt"


async def test_restore_into_another_provider_needs_convert(stdio_client: Client) -> None:
    session_id = (await stdio_client.chat_send("hello"))["sessionId"]
    await stdio_client.chat_close(session_id)
    with pytest.raises(RpcError) as caught:
        await stdio_client.chat_restore(session_id, provider="openai")
    assert (caught.value.code, caught.value.reason) == (-32031, "provider_mismatch")
    assert caught.value.data["snapshotProvider"] == "echo"
