"""The store under hostile conditions, through the real daemon and CLI: every flipped byte
of an encrypted file, the wrong key, traversal ids, and two daemons with twenty clients on
one store (no lost update, conflicts surfaced, listings true to the files)."""

from __future__ import annotations

import asyncio
import base64
import subprocess
from pathlib import Path

import pytest

from chatd.core.store import FileStore
from chatd.errors import DecryptionFailed
from chatd_client import Client, ConnectionLost, RpcError, daemon_command
from tests.integration.conftest import DaemonEnv, stop
from tests.unit.store.conftest import make_snapshot

pytestmark = pytest.mark.anyio

KEY = base64.b64encode(bytes(range(32))).decode()
OTHER_KEY = base64.b64encode(bytes(range(1, 33))).decode()
TRAVERSALS = [
    "../../etc/passwd",
    "..",
    "/etc/passwd",
    "00000000-0000-4000-8000-000000000001/../../x",
    "..%2f..%2fetc",
    "x\x00y",
    "~root",
]


async def spawn(daemon_env: DaemonEnv, **extra: str) -> Client:
    client = await Client.spawn_stdio(env=daemon_env.env(**extra))
    await client.initialize("pytest")
    return client


def test_every_flipped_byte_of_an_encrypted_file_is_caught(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "store", bytes(range(32)))
    snapshot = store.save(make_snapshot())
    path = store.directory / f"{snapshot.id}.json"
    original = path.read_bytes()
    for index in range(len(original)):
        tampered = bytearray(original)
        tampered[index] ^= 0x01 << (index % 8)
        path.write_bytes(bytes(tampered))
        with pytest.raises(DecryptionFailed, match="wrong key or tampered file"):
            store.load(snapshot.id)
    path.write_bytes(original)
    assert store.load(snapshot.id).messages == snapshot.messages


async def test_traversal_ids_through_rpc_touch_nothing(
    stdio_client: Client, daemon_env: DaemonEnv, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.json"
    victim.write_text("{}")
    for bad in [*TRAVERSALS, str(victim.with_suffix(""))]:
        for method, params in [
            ("chat/restore", {"snapshotId": bad}),
            ("store/delete", {"snapshotId": bad}),
            ("chat/send", {"sessionId": bad, "message": "x"}),
            ("chat/history", {"sessionId": bad}),
        ]:
            with pytest.raises(RpcError) as caught:
                await stdio_client.request(method, params)
            assert caught.value.reason in ("invalid_snapshot_id", "session_not_found"), method
    assert victim.read_text() == "{}"
    assert not daemon_env.store_dir.exists() or not any(daemon_env.store_dir.iterdir())


def test_traversal_ids_through_the_cli_fail_in_one_line(daemon_env: DaemonEnv) -> None:
    for bad in TRAVERSALS[:4]:
        for args in (["store", "show", bad], ["store", "delete", bad]):
            run = subprocess.run(
                daemon_command(*args), env=daemon_env.env(), capture_output=True, text=True
            )
            assert run.returncode != 0, args
            assert len(run.stderr.strip().splitlines()) == 1, run.stderr
            assert "Traceback" not in run.stderr


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


async def test_two_daemons_and_twenty_clients_lose_no_update(daemon_env: DaemonEnv) -> None:
    second_socket = daemon_env.socket.with_name("second.sock")
    daemons = [daemon_env.start_socket_daemon()]
    try:
        daemons.append(daemon_env.start_socket_daemon("--socket", str(second_socket)))
        while not second_socket.exists():
            assert daemons[1].poll() is None, "the second daemon exited"
            await asyncio.sleep(0.02)
        sockets = [daemon_env.socket, second_socket]
        clients = [await Client.connect_unix(sockets[n % 2]) for n in range(20)]
        for client in clients:
            await client.initialize("pytest")
        shared = (await clients[0].chat_send("shared start"))["sessionId"]
        await clients[1].chat_history(shared)  # the second daemon holds revision 1 ...
        await clients[0].chat_send("shared moves on", session_id=shared)  # ... now stale

        async def work(n: int, client: Client) -> tuple[str, list[str]]:
            own = (await client.chat_send(f"client {n} turn 0"))["sessionId"]
            outcomes = []
            for turn in range(1, 3):
                await client.chat_send(f"client {n} turn {turn}", session_id=own)
                try:
                    reply = await client.chat_send(f"shared {n}.{turn}", session_id=shared)
                    outcomes.append(reply.get("saveError", {}).get("reason", "saved"))
                except RpcError as error:
                    outcomes.append(error.reason)
            return own, outcomes

        results = await asyncio.gather(*(work(n, c) for n, c in enumerate(clients)))
        outcomes = [outcome for _, each in results for outcome in each]
        assert set(outcomes) <= {"saved", "store_conflict", "session_busy"}, outcomes
        assert "store_conflict" in outcomes  # the second daemon's copy is surfaced as stale
        for n, (own, _) in enumerate(results):
            history = await clients[n].chat_history(own)
            texts = [item["text"] for item in history["items"] if item["role"] == "user"]
            assert texts == [f"client {n} turn {t}" for t in range(3)]
        files = {path.stem for path in daemon_env.store_dir.glob("*.json")}
        assert files == {own for own, _ in results} | {shared}
        store = FileStore(daemon_env.store_dir, None)
        revisions = {item.id: item.revision for item in store.list(limit=200).items}
        for client in clients[:2]:
            listing = await client.store_list(limit=200)
            assert listing["problems"] == []
            assert {item["id"]: item["revision"] for item in listing["items"]} == revisions
        for client in clients:
            await client.close()
    finally:
        for daemon in daemons:
            stop(daemon)
