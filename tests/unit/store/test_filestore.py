"""FileStore: save, load, delete, revisions, ids at the boundary, permissions, temp files."""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from chatd.core.store import FileStore
from chatd.errors import (
    CorruptSnapshot,
    InvalidParams,
    InvalidSnapshotId,
    SnapshotNotFound,
    SnapshotUnreadable,
    StoreConflict,
    UnsupportedVersion,
)

from .conftest import make_snapshot
from .test_snapshot import BAD_IDS


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_save_then_load_round_trips(store: FileStore) -> None:
    before = datetime.now(UTC)
    saved = store.save(make_snapshot(usage={"input_tokens": 3}, extra={"future_key": {"a": 1}}))
    assert saved.revision == 1
    assert saved.updated_at >= before - timedelta(seconds=1)
    assert store.load(saved.id) == saved


def test_created_at_in_any_zone_is_kept_as_the_same_instant(store: FileStore) -> None:
    moment = datetime(2026, 3, 26, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    saved = store.save(make_snapshot(created_at=moment))
    assert store.load(saved.id).created_at == moment


def test_each_save_is_the_next_revision(store: FileStore) -> None:
    first = store.save(make_snapshot())
    second = store.save(
        replace(first, messages=[*first.messages, {"role": "user", "content": "x"}])
    )
    assert second.revision == 2
    assert store.load(first.id) == second
    assert list(store.directory.glob("*.json")) == [store.directory / f"{first.id}.json"]


def test_saving_a_stale_revision_conflicts(store: FileStore) -> None:
    first = store.save(make_snapshot())
    store.save(first)
    with pytest.raises(StoreConflict) as caught:
        store.save(first)
    assert (caught.value.expected, caught.value.found) == (1, 2)
    assert caught.value.details()["snapshotId"] == first.id


def test_a_new_conversation_must_not_exist_yet(store: FileStore) -> None:
    first = store.save(make_snapshot())
    with pytest.raises(StoreConflict) as caught:
        store.save(replace(first, revision=0))
    assert (caught.value.expected, caught.value.found) == (0, 1)


def test_conflicts_are_detected_without_the_index(store: FileStore) -> None:
    first = store.save(make_snapshot())
    store.save(first)
    for name in ("index", "recent"):
        (store.directory / ".chatd" / name).unlink(missing_ok=True)
    with pytest.raises(StoreConflict):
        store.save(first)


def test_threads_saving_one_conversation_never_lose_a_revision(store: FileStore) -> None:
    start = store.save(make_snapshot())
    saved: list[int] = []

    def worker() -> None:
        for _ in range(10):
            while True:
                current = store.load(start.id)
                try:
                    saved.append(store.save(current).revision)
                    break
                except StoreConflict:
                    continue

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(saved) == list(range(2, 42))
    assert store.load(start.id).revision == 41


def test_delete_removes_the_conversation(store: FileStore) -> None:
    saved = store.save(make_snapshot())
    store.delete(saved.id)
    with pytest.raises(SnapshotNotFound):
        store.load(saved.id)
    assert store.list().items == []
    with pytest.raises(SnapshotNotFound):
        store.delete(saved.id)


def test_missing_is_not_found_not_invalid(store: FileStore) -> None:
    with pytest.raises(SnapshotNotFound) as caught:
        store.load("00000000-0000-0000-0000-000000000000")
    assert not isinstance(caught.value, InvalidSnapshotId)
    with pytest.raises(SnapshotNotFound):
        store.delete("00000000-0000-0000-0000-000000000000")
    assert not store.directory.exists()


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_malformed_ids_are_rejected_at_every_boundary(tmp_path: Path, bad_id: str) -> None:
    outside = tmp_path / "etc"
    outside.mkdir()
    planted = outside / "passwd"
    planted.write_text("root")
    store = FileStore(tmp_path / "deep" / "store")
    with pytest.raises(InvalidSnapshotId):
        store.save(make_snapshot(id=bad_id))
    with pytest.raises(InvalidSnapshotId):
        store.load(bad_id)
    with pytest.raises(InvalidSnapshotId):
        store.delete(bad_id)
    assert not (tmp_path / "deep").exists()
    assert planted.read_text() == "root"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["etc"]


def test_a_symlink_out_of_the_store_is_refused(store: FileStore, tmp_path: Path) -> None:
    saved = store.save(make_snapshot())
    outside = tmp_path / "outside.json"
    path = store.directory / f"{saved.id}.json"
    outside.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(outside)
    with pytest.raises(InvalidSnapshotId, match="escapes the store directory"):
        store.load(saved.id)
    with pytest.raises(InvalidSnapshotId):
        store.save(saved)
    problems = store.list().problems
    assert [(p.file, p.reason) for p in problems] == [(path.name, "invalid_snapshot_id")]


def test_the_id_inside_must_match_the_file_name(plain_store: FileStore) -> None:
    one = plain_store.save(make_snapshot())
    other_id = "00000000-0000-0000-0000-000000000001"
    (plain_store.directory / f"{one.id}.json").rename(plain_store.directory / f"{other_id}.json")
    with pytest.raises(CorruptSnapshot, match="does not match the file name"):
        plain_store.load(other_id)
    assert [p.reason for p in plain_store.list().problems] == ["snapshot_corrupt"]


def test_a_newer_version_file_is_unsupported(plain_store: FileStore) -> None:
    saved = plain_store.save(make_snapshot())
    path = plain_store.directory / f"{saved.id}.json"
    path.write_text(path.read_text().replace('"version": 2', '"version": 99'))
    with pytest.raises(UnsupportedVersion, match="upgrade chatd"):
        plain_store.load(saved.id)


def test_a_directory_in_place_of_a_file_is_unreadable(store: FileStore) -> None:
    saved = store.save(make_snapshot())
    path = store.directory / f"{saved.id}.json"
    path.unlink()
    path.mkdir()
    with pytest.raises(SnapshotUnreadable):
        store.load(saved.id)


def test_nan_cannot_be_saved(store: FileStore) -> None:
    with pytest.raises(InvalidParams):
        store.save(make_snapshot(messages=[{"score": float("nan")}]))


def test_directory_and_files_are_private(store: FileStore) -> None:
    old_umask = os.umask(0)
    try:
        saved = store.save(make_snapshot())
        store.list()
    finally:
        os.umask(old_umask)
    assert mode(store.directory) == 0o700
    assert mode(store.directory / f"{saved.id}.json") == 0o600
    assert mode(store.directory / ".chatd") == 0o700
    assert mode(store.directory / ".chatd" / "index") == 0o600
    assert mode(store.directory / ".chatd" / "recent") == 0o600
    assert mode(store.directory / ".chatd" / "lock") == 0o600


@pytest.mark.parametrize("operation", ["save", "list"])
def test_an_open_directory_is_warned_about_and_closed(
    store: FileStore, operation: str, caplog: pytest.LogCaptureFixture
) -> None:
    store.directory.mkdir(mode=0o755)
    os.chmod(store.directory, 0o755)
    with caplog.at_level(logging.WARNING):
        if operation == "save":
            store.save(make_snapshot())
        else:
            store.list()
    assert mode(store.directory) == 0o700
    assert "accessible to other users (mode 0755)" in caplog.text


def test_stale_temp_files_are_removed_and_live_ones_kept(store: FileStore) -> None:
    saved = store.save(make_snapshot())
    stale = store.directory / f".{saved.id}.json.0123456789ab.tmp"
    live = store.directory / f".{saved.id}.json.ba9876543210.tmp"
    stale_index = store.directory / ".chatd" / ".index.0123456789ab.tmp"
    for path in (stale, live, stale_index):
        path.write_bytes(b"partial")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    os.utime(stale_index, (an_hour_ago, an_hour_ago))
    page = store.list()
    assert [item.id for item in page.items] == [saved.id]
    assert page.problems == []
    assert not stale.exists() and not stale_index.exists()
    assert live.exists()


def test_saves_leave_no_temp_files(store: FileStore) -> None:
    saved = store.save(make_snapshot())
    for _ in range(3):
        saved = store.save(saved)
    store.list()
    names = sorted(p.name for p in store.directory.rglob("*"))
    key_check = ["keycheck"] if store.encrypted else []
    assert names == [".chatd", f"{saved.id}.json", "index", *key_check, "lock", "recent"]
