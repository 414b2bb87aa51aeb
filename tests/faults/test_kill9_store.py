"""The store under real processes: writers killed with SIGKILL mid-save, and two processes
saving and listing the same conversations at once."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from chatd.core.store import FileStore
from chatd.core.store.crypto import Envelope, is_json_text
from chatd.core.store.index import Base, Index, dir_sig, parse_line
from tests.unit.store.conftest import KEY, make_snapshot

CONVERSATIONS = [
    "00000000-0000-4000-8000-000000000001",  # ~200 KB
    "00000000-0000-4000-8000-000000000002",
    "00000000-0000-4000-8000-000000000003",
]
KILLS_PER_MODE = 120
"""Two modes (plain, encrypted): 240 kills in all; ``--fuzz-long`` multiplies by five."""

WORKER = r'''
import hashlib, json, os, random, sys, time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from chatd.core.store import FileStore
from chatd.core.store.base import Snapshot
from chatd.errors import SnapshotNotFound, StoreConflict


def checksum(messages):
    return hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()


def next_revision(store, snapshot_id, size, rng):
    """Load, grow by one revision, save; the metadata proves the file is whole."""
    try:
        current = store.load(snapshot_id)
    except SnapshotNotFound:
        now = datetime.now(UTC)
        current = Snapshot(id=snapshot_id, provider="echo", model="m", messages=[],
                           created_at=now, updated_at=now)
    revision = current.revision + 1
    text = f"revision {revision} " + "".join(rng.choice("abcdef") for _ in range(64))
    messages = [{"role": "user", "content": text * (size // len(text) + 1)}]
    metadata = {"checksum": checksum(messages), "revision": str(revision)}
    return store.save(replace(current, messages=messages, metadata=metadata))


def sizes(ids):
    return {snapshot_id: 200_000 if n == 0 else 2_000 for n, snapshot_id in enumerate(ids)}


def forking(directory, key, ids):
    """Fork a saver on every 'go' line; report its pid, reap it once it is killed."""
    for line in sys.stdin:
        pid = os.fork()
        if pid == 0:
            store, rng = FileStore(directory, key), random.Random(os.getpid())
            order = list(sizes(ids).items())
            start = rng.randrange(len(order))  # a kill early in a run must not always hit one file
            while True:
                for snapshot_id, size in order[start:] + order[:start]:
                    next_revision(store, snapshot_id, size, rng)
        print(pid, flush=True)
        os.waitpid(pid, 0)
        print("reaped", flush=True)


def contending(directory, key, ids, rounds):
    """Save each conversation ``rounds`` times, retrying conflicts; list as we go."""
    store, rng = FileStore(directory, key), random.Random(os.getpid())
    saved = {snapshot_id: 0 for snapshot_id in ids}
    conflicts = 0
    for n in range(rounds):
        for snapshot_id in ids:
            while True:
                try:
                    next_revision(store, snapshot_id, 2_000, rng)
                    saved[snapshot_id] += 1
                    break
                except StoreConflict:
                    conflicts += 1
            if n % 3 == 0:
                page = store.list()
                assert page.problems == [], page.problems
                assert sorted(item.id for item in page.items) == sorted(ids), page.items
    print(json.dumps({"saved": saved, "conflicts": conflicts}), flush=True)


mode, directory, key_hex, ids = sys.argv[1:5]
key = bytes.fromhex(key_hex) or None
if mode == "fork":
    forking(Path(directory), key, ids.split(","))
else:
    contending(Path(directory), key, ids.split(","), int(sys.argv[5]))
'''


def worker(mode: str, directory: Path, key: bytes | None, *args: str) -> list[str]:
    keyhex = key.hex() if key else ""
    return [
        sys.executable,
        "-c",
        WORKER,
        mode,
        str(directory),
        keyhex,
        ",".join(CONVERSATIONS),
        *args,
    ]


def checksum(messages: Any) -> str:
    return hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()


def check_store(directory: Path, key: bytes | None, last_seen: dict[str, int]) -> None:
    """Every file loads whole, revisions never go back, the index tells the truth."""
    store = FileStore(directory, key)
    assert_index_truthful(store, key)
    for snapshot_id in CONVERSATIONS:
        if not (directory / f"{snapshot_id}.json").exists():
            continue
        snapshot = store.load(snapshot_id)
        assert snapshot.metadata["checksum"] == checksum(snapshot.messages)
        assert snapshot.metadata["revision"] == str(snapshot.revision)
        assert snapshot.revision >= last_seen.get(snapshot_id, 0)
        last_seen[snapshot_id] = snapshot.revision
    page = store.list()
    assert page.problems == []
    assert {item.id: item.revision for item in page.items} == last_seen


def assert_index_truthful(store: FileStore, key: bytes | None) -> None:
    """An index that claims to describe the directory describes it exactly."""
    state = store.directory / ".chatd"
    if not (state / "recent").exists():
        return
    envelope = Envelope(key)

    def read(name: str) -> bytes:
        return envelope.open((state / name).read_bytes(), what=name, is_plain=is_json_text)

    index = Index.parse(read("recent"), lambda: Base.parse(read("index")))
    if index.directory != dir_sig(os.stat(store.directory)):
        return  # stale, and knows it: the next listing scans
    listed = {}
    for line in index.lines():
        entry = parse_line(line)
        listed[entry.summary.id] = (entry.summary.revision, entry.sig)
    on_disk = {}
    for snapshot_id in CONVERSATIONS:
        file = store.directory / f"{snapshot_id}.json"
        if file.exists():
            info = file.stat()
            revision = store.load(snapshot_id).revision
            on_disk[snapshot_id] = (revision, (info.st_mtime_ns, info.st_size, info.st_ino))
    assert listed == on_disk


@pytest.mark.parametrize("key", [None, KEY], ids=["plain", "encrypted"])
def test_kill_9_mid_save_leaves_every_file_whole(
    tmp_path: Path, key: bytes | None, fuzz_long: bool
) -> None:
    directory = tmp_path / "store"
    rng = random.Random(1234)
    last_seen: dict[str, int] = {}
    with subprocess.Popen(
        worker("fork", directory, key),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        for _ in range(KILLS_PER_MODE * (5 if fuzz_long else 1)):
            process.stdin.write("go\n")
            pid = int(process.stdout.readline())
            time.sleep(rng.uniform(0.001, 0.030))
            os.kill(pid, signal.SIGKILL)
            assert process.stdout.readline().strip() == "reaped"
            if directory.exists():
                check_store(directory, key, last_seen)
    assert set(last_seen) == set(CONVERSATIONS)  # the savers made progress on each
    assert list(directory.glob(".*.tmp")), "no kill landed mid-write"


@pytest.mark.parametrize("key", [None, KEY], ids=["plain", "encrypted"])
def test_two_processes_saving_and_listing_lose_nothing(tmp_path: Path, key: bytes | None) -> None:
    directory = tmp_path / "store"
    rounds = 40
    store = FileStore(directory, key)
    for snapshot_id in CONVERSATIONS:
        store.save(make_snapshot(id=snapshot_id, metadata={"checksum": checksum([])}, messages=[]))
    command = worker("contend", directory, key, str(rounds))
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = []
    for process in processes:
        with process:
            outputs.append(process.communicate(timeout=100)[0])
    assert [process.returncode for process in processes] == [0, 0]
    reports = [json.loads(out) for out in outputs]
    for snapshot_id in CONVERSATIONS:
        assert sum(report["saved"][snapshot_id] for report in reports) == rounds * 2
        snapshot = store.load(snapshot_id)
        assert snapshot.revision == 1 + rounds * 2  # every successful save is one revision
        assert snapshot.metadata["checksum"] == checksum(snapshot.messages)
    assert_index_truthful(store, key)
    page = store.list()
    assert page.problems == []
    assert {item.id: item.revision for item in page.items} == dict.fromkeys(
        CONVERSATIONS, 1 + rounds * 2
    )
    assert_index_truthful(store, key)
