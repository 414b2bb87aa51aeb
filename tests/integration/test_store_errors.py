"""Store failures as a client sees them: documented codes, nothing lost, daemon still serving."""

from __future__ import annotations

import base64
import os

import pytest

from chatd_client import Client, ConnectionLost, RpcError
from tests.integration.conftest import DaemonEnv

pytestmark = pytest.mark.anyio

KEY = base64.b64encode(bytes(range(32))).decode()
OTHER_KEY = base64.b64encode(bytes(range(1, 33))).decode()


async def spawn(daemon_env: DaemonEnv, **extra: str) -> Client:
    client = await Client.spawn_stdio(env=daemon_env.env(**extra))
    await client.initialize("pytest")
    return client


async def test_encrypted_store_and_the_wrong_key(daemon_env: DaemonEnv) -> None:
    client = await spawn(daemon_env, CHATD_STORE_KEY=KEY)
    try:
        status = await client.daemon_status()
        assert status["encrypted"] is True
        session_id = (await client.chat_send("secret words"))["sessionId"]
    finally:
        await client.close()
    raw = (daemon_env.store_dir / f"{session_id}.json").read_bytes()
    assert b"secret words" not in raw

    before = sorted(p.name for p in daemon_env.store_dir.rglob("*"))
    for variables, fragment in (
        ({"CHATD_STORE_KEY": OTHER_KEY}, "encrypted with another key"),
        ({}, "no store key is configured"),
    ):
        client = await Client.spawn_stdio(env=daemon_env.env(**variables))
        try:
            with pytest.raises(ConnectionLost) as refused:  # refused at start-up
                await client.initialize("pytest")
        finally:
            await client.close()
        assert client.process is not None and client.process.returncode == 1
        assert fragment in str(refused.value)
        assert KEY not in str(refused.value) and OTHER_KEY not in str(refused.value)
    assert sorted(p.name for p in daemon_env.store_dir.rglob("*")) == before

    client = await spawn(daemon_env, CHATD_STORE_KEY=KEY)
    try:
        reply = await client.chat_send("right key again", session_id=session_id)
        assert reply["text"] == "[2] right key again"
    finally:
        await client.close()


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


async def test_two_daemons_sharing_a_store_conflict_instead_of_overwriting(
    daemon_env: DaemonEnv,
) -> None:
    first, second = await spawn(daemon_env), await spawn(daemon_env)
    try:
        session_id = (await first.chat_send("start"))["sessionId"]
        await second.chat_history(session_id)
        await first.chat_send("first", session_id=session_id)
        late = await second.chat_send("second", session_id=session_id)
        assert late["text"] == "[2] second"
        assert late["saveError"]["reason"] == "store_conflict"
        with pytest.raises(RpcError) as caught:
            await second.chat_save(session_id)
        assert (caught.value.code, caught.value.reason) == (-32024, "store_conflict")
        fork = await second.chat_save(session_id, fork=True)
        assert fork["revision"] == 1
        history = await first.chat_history(session_id)
        assert history["items"][-1]["text"] == "[2] first"
    finally:
        await first.close()
        await second.close()
