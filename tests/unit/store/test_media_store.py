"""Media out of snapshots: written once, deduplicated, encrypted, verified, collected."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from chatd.core.store import FileStore
from chatd.errors import CorruptSnapshot, DecryptionFailed, MediaMissing
from tests.fakes.media import PDF, PNG, b64
from tests.unit.store.conftest import OTHER_KEY, make_snapshot

IMAGE = b64(PNG * 4)
DATA_URI = "data:application/pdf;base64," + b64(PDF * 4)


def with_media(image: str = IMAGE, **fields: Any) -> Any:
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "chatmedia+sha256:typed by a user"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": image},
                },
                {"type": "file", "file": {"file_data": DATA_URI}},
            ],
        }
    ]
    return make_snapshot(messages=messages, **fields)


def blobs(store: FileStore) -> list[str]:
    media = store.directory / "media"
    return sorted(os.listdir(media)) if media.exists() else []


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_media_is_written_once_and_loads_back(store: FileStore) -> None:
    snapshot = with_media()
    saved = store.save(snapshot)
    again = store.save(saved)
    other = store.save(with_media())

    raw = (store.directory / f"{saved.id}.json").read_bytes()
    assert IMAGE.encode() not in raw and b"base64," not in raw
    text = "chatmedia+sha256:typed by a user"
    assert blobs(store) == sorted({digest(IMAGE), digest(DATA_URI), digest(text)})
    for name in blobs(store):
        path = store.directory / "media" / name
        assert path.stat().st_mode & 0o777 == 0o600
    image_blob = (store.directory / "media" / digest(IMAGE)).read_bytes()
    assert (image_blob == IMAGE.encode()) == (not store.encrypted)
    assert store.directory.joinpath("media").stat().st_mode & 0o777 == 0o700
    assert store.load(again.id).messages == snapshot.messages
    assert store.load(other.id).messages == snapshot.messages
    if store.encrypted:
        with pytest.raises(DecryptionFailed):
            FileStore(store.directory, OTHER_KEY).load(saved.id)


def test_short_strings_and_plain_text_stay_inline(store: FileStore) -> None:
    short = make_snapshot(
        messages=[
            {"role": "user", "content": "A" * 400},
            {"role": "user", "content": "not base64 " * 100},
        ]
    )
    saved = store.save(short)
    assert blobs(store) == []
    assert store.load(saved.id).messages == short.messages


def corrupt_reference(store: FileStore, snapshot_id: str, new: str) -> None:
    path = store.directory / f"{snapshot_id}.json"
    document = json.loads(path.read_text())
    document["messages"][0]["content"][1]["source"]["data"] = new
    path.write_text(json.dumps(document))


def test_a_missing_damaged_or_malformed_reference_is_refused(plain_store: FileStore) -> None:
    saved = plain_store.save(with_media())
    media = plain_store.directory / "media"
    (media / digest(IMAGE)).write_text(IMAGE[:-4] + "AAAA")
    with pytest.raises(CorruptSnapshot, match="does not match its hash"):
        plain_store.load(saved.id)
    (media / digest(IMAGE)).unlink()
    with pytest.raises(MediaMissing) as missing:
        plain_store.load(saved.id)
    assert missing.value.reason == "media_missing" and missing.value.digest == digest(IMAGE)
    corrupt_reference(plain_store, saved.id, "chatmedia+sha256:ABC123")
    with pytest.raises(CorruptSnapshot, match="malformed media reference"):
        plain_store.load(saved.id)


def test_gc_and_deletes_remove_only_unused_blobs(store: FileStore) -> None:
    shared = store.save(with_media())
    alone = store.save(with_media(image=b64(PDF * 8)))
    (store.directory / "media" / ("0" * 64)).write_bytes(b"orphan")
    assert len(blobs(store)) == 5

    collected = store.gc()
    assert (collected.removed, collected.kept) == (1, 4)
    store.delete(alone.id)
    assert blobs(store) == sorted(
        {digest(IMAGE), digest(DATA_URI), digest("chatmedia+sha256:typed by a user")}
    )
    store.delete(shared.id)
    assert blobs(store) == []


def test_gc_removes_nothing_while_a_snapshot_is_unreadable(plain_store: FileStore) -> None:
    plain_store.save(with_media())
    (plain_store.directory / "media" / ("1" * 64)).write_bytes(b"orphan")
    broken = make_snapshot()
    (plain_store.directory / f"{broken.id}.json").write_bytes(b"\x00garbage")
    collected = plain_store.gc()
    assert collected.removed == 0 and collected.unreadable == (f"{broken.id}.json",)


def test_gc_never_takes_a_blob_from_a_concurrent_save(store_dir: Path) -> None:
    saver, collector = FileStore(store_dir), FileStore(store_dir)
    collector.save(make_snapshot())
    failures: list[BaseException] = []
    saved: list[str] = []

    def save_many() -> None:
        try:
            for round_ in range(20):
                saved.append(saver.save(with_media(image=b64(PNG * (5 + round_)))).id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    thread = threading.Thread(target=save_many)
    thread.start()
    while thread.is_alive():
        collector.gc()
    thread.join()
    assert failures == []
    for snapshot_id in saved:
        collector.load(snapshot_id)
