"""Listing through the summary index: paging, filters, problems, and rebuilding when the
directory changes behind the index's back."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chatd.core.store import FileStore
from chatd.core.store.base import Snapshot
from chatd.core.store.crypto import Envelope
from chatd.errors import InvalidParams

from .conftest import KEY, OTHER_KEY, make_snapshot
from .test_compat import REFERENCE_FILE, REFERENCE_ID


def index_file(store: FileStore, name: str = "index") -> Path:
    return store.directory / ".chatd" / name


def save_many(store: FileStore, count: int) -> list[Snapshot]:
    return [
        store.save(make_snapshot(provider="openai" if n % 3 == 0 else "claude", title=f"chat {n}"))
        for n in range(count)
    ]


def newest_first(snapshots: list[Snapshot]) -> list[str]:
    return [s.id for s in sorted(snapshots, key=lambda s: (s.updated_at, s.id), reverse=True)]


def settle(store: FileStore) -> None:
    """Make the index trusted without a scan: as if the last change was long ago."""
    long_ago = time.time_ns() - 60 * 1_000_000_000
    os.utime(store.directory, ns=(long_ago, long_ago))
    store.list()


def test_a_missing_directory_lists_empty_and_is_not_created(store: FileStore) -> None:
    page = store.list()
    assert (page.items, page.next_cursor, page.problems) == ([], None, [])
    assert not store.directory.exists()


def test_pages_cover_every_item_once_newest_first(store: FileStore) -> None:
    saved = save_many(store, 23)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = store.list(limit=5, cursor=cursor)
        seen += [item.id for item in page.items]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == newest_first(saved)
    assert pages == 5


def test_an_exact_last_page_has_no_cursor(store: FileStore) -> None:
    save_many(store, 4)
    assert store.list(limit=4).next_cursor is None
    assert store.list(limit=3).next_cursor is not None


def test_provider_filter_pages_too(store: FileStore) -> None:
    saved = save_many(store, 12)
    wanted = newest_first([s for s in saved if s.provider == "openai"])
    first = store.list(limit=3, provider="openai")
    second = store.list(limit=3, provider="openai", cursor=first.next_cursor)
    assert [item.id for item in first.items + second.items] == wanted
    assert second.next_cursor is None
    assert store.list(provider="gemini").items == []


def test_summaries_carry_what_a_list_shows(store: FileStore) -> None:
    saved = store.save(make_snapshot(metadata={"a": "b"}))
    saved = store.save(saved)
    (item,) = store.list().items
    assert item.id == saved.id
    assert (item.provider, item.model, item.title) == ("claude", "claude-test", "Greeting")
    assert (item.message_count, item.metadata, item.revision) == (2, {"a": "b"}, 2)
    assert (item.created_at, item.updated_at) == (saved.created_at, saved.updated_at)


def test_bad_cursor_and_limit_are_invalid_params(store: FileStore) -> None:
    save_many(store, 2)
    with pytest.raises(InvalidParams):
        store.list(cursor="not-a-cursor")
    with pytest.raises(InvalidParams):
        store.list(limit=0)


def test_a_new_store_object_lists_from_the_index_without_reading_snapshots(
    store: FileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = save_many(store, 5)
    settle(store)

    def no_reading(*args: object) -> None:
        raise AssertionError("the fast path must not read snapshot files")

    fresh = FileStore(store.directory, KEY if store.encrypted else None)
    monkeypatch.setattr(fresh, "_decode", no_reading)
    assert [item.id for item in fresh.list().items] == newest_first(saved)


def test_another_store_objects_saves_show_up(store: FileStore) -> None:
    other = FileStore(store.directory, KEY if store.encrypted else None)
    first = store.save(make_snapshot())
    settle(store)
    second = other.save(make_snapshot())
    assert [item.id for item in store.list().items] == [second.id, first.id]


@pytest.mark.parametrize("name", ["index", "recent"])
def test_a_deleted_index_is_rebuilt(store: FileStore, name: str) -> None:
    saved = save_many(store, 3)
    settle(store)
    index_file(store, name).unlink()
    assert [item.id for item in store.list().items] == newest_first(saved)
    assert index_file(store, name).exists()


@pytest.mark.parametrize("name", ["index", "recent"])
@pytest.mark.parametrize(
    "garbage",
    [b"", b"\x00" * 100, os.urandom(300), b'{"format": 1}', b'{"format": 99, "dir": [1, 2]}'],
)
def test_a_corrupt_index_is_rebuilt_not_reported(
    store: FileStore, name: str, garbage: bytes
) -> None:
    saved = save_many(store, 3)
    settle(store)
    index_file(store, name).write_bytes(garbage)
    page = store.list()
    assert [item.id for item in page.items] == newest_first(saved)
    assert page.problems == []


def rewrite_keeping_mtime(path: Path, data: bytes) -> None:
    """Change a file without changing its mtime, so the index still looks trusted."""
    info = path.stat()
    path.write_bytes(data)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def test_damaged_lines_in_a_trusted_index_are_rebuilt(plain_store: FileStore) -> None:
    saved = save_many(plain_store, 3)
    settle(plain_store)
    header, *lines = index_file(plain_store).read_bytes().split(b"\n")
    lines[-1] = lines[-1][:60] + b"[broken"
    rewrite_keeping_mtime(index_file(plain_store), b"\n".join([header, *lines]))
    assert [item.id for item in plain_store.list().items] == newest_first(saved)


def test_an_index_from_another_write_is_rebuilt(plain_store: FileStore) -> None:
    """``recent`` names the ``index`` it extends; another one (a crash between the two
    writes, a copy from elsewhere) is not trusted."""
    saved = save_many(plain_store, 3)
    settle(plain_store)
    header, _, body = index_file(plain_store).read_bytes().partition(b"\n")
    other = json.dumps({"format": 1, "generation": "0" * 16}).encode()
    rewrite_keeping_mtime(index_file(plain_store), other + b"\n" + body.rpartition(b"\n")[0])
    assert [item.id for item in plain_store.list().items] == newest_first(saved)


@pytest.mark.parametrize("name", ["index", "recent"])
def test_an_index_under_another_key_is_rebuilt(encrypted_store: FileStore, name: str) -> None:
    saved = save_many(encrypted_store, 2)
    settle(encrypted_store)
    path = index_file(encrypted_store, name)
    plain = Envelope(KEY).open(path.read_bytes(), what="i", is_plain=lambda _: False)
    rewrite_keeping_mtime(path, Envelope(OTHER_KEY).seal(plain))
    assert [item.id for item in encrypted_store.list().items] == newest_first(saved)


def test_many_changes_fold_into_the_full_index(
    store: FileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("chatd.core.store.index.RECENT_LIMIT", 5)
    saved = save_many(store, 3)
    settle(store)
    saved += save_many(store, 9)
    store.delete(saved[0].id)
    store.delete(saved[5].id)
    renamed = store.save(replace(saved[1], title="renamed"))
    kept = [s for s in saved if s.id not in (saved[0].id, saved[5].id, saved[1].id)] + [renamed]
    recent = Envelope(KEY if store.encrypted else None).open(
        index_file(store, "recent").read_bytes(), what="recent", is_plain=lambda _: True
    )
    changes = recent.split(b"\n")[1:]  # folded at 5 changes and at 10: two are left
    assert len(changes) == 2 and changes[0] == b"-" + saved[5].id.encode()
    fresh = FileStore(store.directory, KEY if store.encrypted else None)
    seen, cursor = [], None
    while True:
        page = fresh.list(limit=4, cursor=cursor)
        seen += [(item.id, item.title) for item in page.items]
        if (cursor := page.next_cursor) is None:
            break
    assert seen == [
        (s.id, s.title) for s in sorted(kept, key=lambda s: (s.updated_at, s.id), reverse=True)
    ]


def test_a_file_added_by_hand_is_listed(store: FileStore) -> None:
    save_many(store, 2)
    settle(store)
    if store.encrypted:
        data = Envelope(KEY).seal(REFERENCE_FILE)
    else:
        data = REFERENCE_FILE
    (store.directory / f"{REFERENCE_ID}.json").write_bytes(data)
    ids = [item.id for item in store.list().items]
    assert REFERENCE_ID in ids and len(ids) == 3


def test_a_file_removed_by_hand_disappears(store: FileStore) -> None:
    saved = save_many(store, 3)
    settle(store)
    (store.directory / f"{saved[0].id}.json").unlink()
    assert [item.id for item in store.list().items] == newest_first(saved[1:])


def test_a_file_edited_in_place_is_seen_even_on_the_fast_path(plain_store: FileStore) -> None:
    saved = plain_store.save(make_snapshot(title="before"))
    settle(plain_store)
    path = plain_store.directory / f"{saved.id}.json"
    directory_mtime = plain_store.directory.stat().st_mtime_ns
    with path.open("r+b") as handle:  # in place: the directory's mtime does not move
        text = handle.read().replace(b'"before"', b'"after, edited"')
        handle.seek(0)
        handle.write(text)
    assert plain_store.directory.stat().st_mtime_ns == directory_mtime
    assert [item.title for item in plain_store.list().items] == ["after, edited"]


def test_a_hand_edit_of_updated_at_reorders(plain_store: FileStore) -> None:
    old, new = plain_store.save(make_snapshot()), plain_store.save(make_snapshot())
    path = plain_store.directory / f"{old.id}.json"
    doc = json.loads(path.read_text())
    doc["updated_at"] = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    path.write_text(json.dumps(doc, indent=2))
    assert [item.id for item in plain_store.list().items] == [old.id, new.id]


def test_problems_are_listed_with_reasons(store_dir: Path) -> None:
    plain, keyed = FileStore(store_dir), FileStore(store_dir, KEY)
    good = keyed.save(make_snapshot())
    plain_file = _saved_elsewhere(None, store_dir)  # the key check keeps them out of the store
    wrong_key = _saved_elsewhere(OTHER_KEY, store_dir)
    corrupt = keyed.save(make_snapshot())
    (store_dir / f"{corrupt.id}.json").write_bytes(Envelope(KEY).seal(b"{not json"))
    future = keyed.save(make_snapshot())
    (store_dir / f"{future.id}.json").write_bytes(Envelope(KEY).seal(b'{"version": 99}'))
    unreadable = "00000000-0000-0000-0000-00000000000f"
    (store_dir / f"{unreadable}.json").mkdir()
    (store_dir / "not-a-uuid.json").write_text("{}")
    (store_dir / "README.md").write_text("notes")
    (store_dir / f".{good.id}.json.123456789abc.tmp").write_bytes(b"half")

    page = keyed.list()
    assert [item.id for item in page.items] == [good.id]
    reasons = {p.file: p.reason for p in page.problems}
    assert reasons == {
        f"{plain_file.id}.json": "not_encrypted",
        f"{wrong_key.id}.json": "decrypt_failed",
        f"{corrupt.id}.json": "snapshot_corrupt",
        f"{future.id}.json": "unsupported_version",
        f"{unreadable}.json": "unreadable",
        "not-a-uuid.json": "invalid_snapshot_id",
    }
    assert all(p.message for p in page.problems)
    plain_reasons = {p.file: p.reason for p in plain.list().problems}
    assert plain_reasons[f"{good.id}.json"] == "encrypted_no_key"
    assert keyed.list(cursor=keyed.list(limit=1).next_cursor or None).problems == page.problems


def test_problems_come_with_the_first_page_only(plain_store: FileStore) -> None:
    save_many(plain_store, 3)
    (plain_store.directory / "not-a-uuid.json").write_text("{}")
    first = plain_store.list(limit=2)
    assert len(first.problems) == 1
    assert plain_store.list(limit=2, cursor=first.next_cursor).problems == []


def test_a_fixed_problem_file_is_listed_again(plain_store: FileStore) -> None:
    saved = plain_store.save(make_snapshot())
    path = plain_store.directory / f"{saved.id}.json"
    good = path.read_bytes()
    path.write_bytes(b"{broken")
    assert [p.reason for p in plain_store.list().problems] == ["snapshot_corrupt"]
    settle(plain_store)
    path.write_bytes(good)
    page = plain_store.list()
    assert ([item.id for item in page.items], page.problems) == ([saved.id], [])


def test_save_and_delete_keep_a_trusted_index_current(store: FileStore) -> None:
    saved = save_many(store, 3)
    settle(store)
    updated = store.save(replace(saved[0], title="renamed"))
    store.delete(saved[1].id)
    items = store.list().items
    assert [(item.id, item.title) for item in items] == [
        (updated.id, "renamed"),
        (saved[2].id, "chat 2"),
    ]


@pytest.mark.parametrize("tick_ns", [0, 1_000_000_000], ids=["fine", "whole-seconds"])
def test_a_change_in_the_same_mtime_tick_as_the_index_is_not_missed(
    store: FileStore, tick_ns: int
) -> None:
    """Simulates a coarse clock: the index is written, a file lands in the same tick, and the
    directory's mtime does not move."""
    saved = save_many(store, 2)
    settle(store)
    tick = store.directory.stat().st_mtime_ns // 1_000_000_000 * 1_000_000_000 + tick_ns
    os.utime(store.directory, ns=(tick, tick))
    FileStore(store.directory, KEY if store.encrypted else None).reindex()
    os.utime(store.directory, ns=(tick, tick))  # the index recorded this mtime…
    written = tick + 1_000_000 if tick_ns == 0 else tick + 900_000_000
    os.utime(index_file(store, "recent"), ns=(written, written))  # …and was written in its tick
    data = Envelope(KEY).seal(REFERENCE_FILE) if store.encrypted else REFERENCE_FILE
    (store.directory / f"{REFERENCE_ID}.json").write_bytes(data)
    os.utime(store.directory, ns=(tick, tick))  # the new file did not move the mtime
    ids = [item.id for item in store.list().items]
    assert sorted(ids) == sorted([REFERENCE_ID, *(s.id for s in saved)])


def test_an_index_written_well_after_the_last_change_is_trusted(store: FileStore) -> None:
    store.save(make_snapshot())
    settle(store)
    store.save(make_snapshot())
    tick = store.directory.stat().st_mtime_ns
    index = index_file(store, "recent")
    later = tick + 200_000_000
    os.utime(index, ns=(later, later))
    (store.directory / "not-a-uuid.json").write_text("{}")
    os.utime(store.directory, ns=(tick, tick))  # a change the index cannot know of
    assert store.list().problems == []  # trusted, so not rescanned


def _saved_elsewhere(key: bytes | None, store_dir: Path) -> Snapshot:
    """A snapshot saved in another store under ``key``, then moved into ``store_dir``."""
    elsewhere = store_dir.parent / f"elsewhere-{os.urandom(4).hex()}"
    saved = FileStore(elsewhere, key).save(make_snapshot())
    os.replace(elsewhere / f"{saved.id}.json", store_dir / f"{saved.id}.json")
    return saved
