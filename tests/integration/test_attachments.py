"""Attachments through the real daemon: checks before any call, history, store, CLI."""

from __future__ import annotations

import json
import os

import pytest

from chatd_client import Client, RpcError
from tests.fakes.media import GIF, MP4, PDF, PNG, b64
from tests.integration.conftest import DaemonEnv
from tests.integration.test_cli import chatd

pytestmark = pytest.mark.anyio


async def test_attachments_are_checked_listed_and_kept_out_of_the_snapshot(
    daemon_env: DaemonEnv, stdio_client: Client
) -> None:
    workspace = daemon_env.root / "project"
    workspace.mkdir()
    (workspace / "chart.png").write_bytes(PNG * 600)
    (daemon_env.root / "secret.pdf").write_bytes(PDF)
    created = await stdio_client.request(
        "chat/new", {"provider": "echo", "workspace": str(workspace)}
    )
    session_id = created["sessionId"]
    attachments = [
        {"path": "chart.png"},
        {"data": b64(GIF), "mimeType": "image/png", "name": "a.gif"},
    ]

    reply = await stdio_client.request(
        "chat/send", {"sessionId": session_id, "message": "look", "attachments": attachments}
    )
    history = await stdio_client.request("chat/history", {"sessionId": session_id})
    failures = []
    for bad in (
        [{"path": str(daemon_env.root / "secret.pdf")}],
        [{"data": b64(PNG)}, {"data": b64(MP4)}],
        [{"data": b64(PDF), "mimeType": "image/jpeg"}],
    ):
        with pytest.raises(RpcError) as failed:
            await stdio_client.request(
                "chat/send", {"sessionId": session_id, "message": "x", "attachments": bad}
            )
        failures.append(failed.value)

    assert reply["text"] == "[1] look"
    assert history["items"][0]["attachments"] == [
        {"name": "chart.png", "mimeType": "image/png", "size": len(PNG) * 600},
        {"name": "a.gif", "mimeType": "image/gif", "size": len(GIF)},
    ]
    assert history["items"][1]["attachments"] == []
    assert [(f.code, f.data["reason"], f.data.get("index")) for f in failures] == [
        (-32602, "media_rejected", 0),
        (-32602, "media_unsupported", 1),
        (-32602, "media_rejected", 0),
    ]
    snapshot = (daemon_env.store_dir / f"{session_id}.json").read_text()
    assert b64(PNG * 600) not in snapshot and "chatmedia+sha256:" in snapshot
    assert json.loads(snapshot)["metadata"]["workspace"] == str(workspace)
    assert len(os.listdir(daemon_env.store_dir / "media")) == 2


def test_send_attach_and_store_gc_from_the_cli(daemon_env: DaemonEnv) -> None:
    picture = daemon_env.root / "photo.png"
    picture.write_bytes(PNG * 10)
    try:
        sent = chatd(daemon_env, "send", "--attach", str(picture), "What is this?")
        assert sent.returncode == 0, sent.stderr
        assert sent.stdout.strip() == "[1] What is this?"
        session_id = sent.stderr.split("conversation ")[1].split()[0]
        notes = daemon_env.root / "notes.txt"
        notes.write_text("plain text")
        refused = chatd(daemon_env, "send", "--attach", str(notes), "x")
        assert refused.returncode == 1 and "not an allowed type" in refused.stderr
    finally:
        chatd(daemon_env, "stop")
    assert len(os.listdir(daemon_env.store_dir / "media")) == 1
    kept = chatd(daemon_env, "store", "gc")
    assert (kept.returncode, kept.stderr.strip()) == (0, "removed 0 media blobs, kept 1")
    chatd(daemon_env, "store", "delete", session_id)
    assert os.listdir(daemon_env.store_dir / "media") == []
