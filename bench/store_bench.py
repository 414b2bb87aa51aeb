"""Store benchmark: listing from the index against the reference's read-everything List, and
saving/loading a 1 MiB conversation against the floor of the same bytes, all in one run.

    /work/venv/bin/python bench/store_bench.py            # 10,000 encrypted snapshots
    /work/venv/bin/python bench/store_bench.py --quick    # 1,000, for a smoke run

Ends with one line: ``RESULT list_first_page_ms=… list_speedup=… save_ratio=… load_ratio=… …``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chatd.core.store import FileStore
from chatd.core.store.base import Snapshot
from chatd.core.store.crypto import Envelope
from chatd.core.store.index import COARSE_RACY_WINDOW_NS
from chatd.core.store.snapshot import encode_json, to_document

PAGE = 50
LIST_RUNS_PER_REFERENCE = 10
MESSAGES_PER_SNAPSHOT = 20
WORDS = "the quick brown fox jumps over a lazy dog while chatd keeps every turn safe".split()


def timed(actions: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median wall time of each action in milliseconds, taking turns so that both sides of a
    ratio see the same machine (other processes, caches, disk)."""
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeats):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            samples[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


def text(n: int, seed: int) -> str:
    return " ".join(WORDS[(seed + i * 7) % len(WORDS)] for i in range(n))


def realistic(n: int, now: datetime) -> Snapshot:
    """About 20 turns of a few hundred bytes: a few KB, like a short coding conversation."""
    messages: list[Any] = []
    for turn in range(MESSAGES_PER_SNAPSHOT):
        if turn % 2 == 0:
            messages.append({"role": "user", "content": text(25, n + turn)})
        else:
            messages.append(
                {"role": "assistant", "content": [{"type": "text", "text": text(45, n)}]}
            )
    moment = now - timedelta(minutes=n * 7)
    return Snapshot(
        id=str(uuid.UUID(int=n + 1, version=4)),
        provider=("claude", "openai", "gemini")[n % 3],
        model="model-x",
        system_prompt="You are a helpful assistant.",
        messages=messages,
        metadata={"project": f"p{n % 17}"},
        title=text(6, n),
        created_at=moment,
        updated_at=moment,
        revision=1,
    )


def populate(directory: Path, key: bytes, count: int) -> int:
    """Write ``count`` snapshot files the way the store does (without fsync, for speed)."""
    directory.mkdir(mode=0o700)
    envelope, now, total = Envelope(key), datetime.now(UTC), 0
    for n in range(count):
        snapshot = realistic(n, now)
        data = envelope.seal(encode_json(to_document(snapshot), pretty=False))
        (directory / f"{snapshot.id}.json").write_bytes(data)
        total += len(data)
    return total


def reference_list(directory: Path, key: bytes) -> list[tuple[str, str, int]]:
    """What the reference's List does: read, decrypt and parse every file, then sort."""
    aead, found = AESGCM(key), []
    for entry in os.scandir(directory):
        if not entry.name.endswith(".json"):
            continue
        with open(entry.path, "rb") as handle:
            data = handle.read()
        doc = json.loads(aead.decrypt(data[:12], data[12:], None))
        found.append((doc["updated_at"], doc["id"], len(doc["messages"])))
    found.sort(reverse=True)
    return found[:PAGE]


def big_conversation() -> Snapshot:
    """A 1 MiB conversation: 620 turns of about 1.7 KB."""
    now = datetime.now(UTC)
    messages = [{"role": "user", "content": text(330, n)} for n in range(620)]
    return Snapshot(
        id=str(uuid.uuid4()), provider="claude", model="m", messages=messages,
        created_at=now, updated_at=now,
    )  # fmt: skip


def save_floor(directory: Path, key: bytes, snapshot: Snapshot) -> Callable[[], None]:
    """JSON encode + AES-GCM + write + fsync of the same document: what any durable save pays."""
    aead, path, document = AESGCM(key), directory / "floor.bin", to_document(snapshot)

    def run() -> None:
        data = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
        nonce = os.urandom(12)
        sealed = nonce + aead.encrypt(nonce, data, None)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, sealed)
            os.fsync(fd)
        finally:
            os.close(fd)

    return run


def load_floor(path: Path, key: bytes) -> Callable[[], None]:
    """Read + decrypt + JSON decode of the same file."""
    aead = AESGCM(key)

    def run() -> None:
        data = path.read_bytes()
        json.loads(aead.decrypt(data[:12], data[12:], None))

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 snapshots, fewer repeats")
    args = parser.parse_args()
    count, repeats = (1_000, 5) if args.quick else (10_000, 21)
    key = os.urandom(32)
    with tempfile.TemporaryDirectory(prefix="chatd-bench-") as root:
        directory = Path(root) / "store"
        size = populate(directory, key, count)

        start = time.perf_counter()
        FileStore(directory, key).list(limit=PAGE)
        cold_ms = (time.perf_counter() - start) * 1000
        time.sleep(COARSE_RACY_WINDOW_NS / 1e9 + 0.1)  # until the index is trusted without a scan
        FileStore(directory, key).list(limit=PAGE)

        def warm_list() -> None:
            for _ in range(LIST_RUNS_PER_REFERENCE):
                FileStore(directory, key).list(limit=PAGE)

        listing = timed({"warm": warm_list, "reference": lambda: reference_list(directory, key)}, 3)
        warm_ms = listing["warm"] / LIST_RUNS_PER_REFERENCE
        reference_ms = listing["reference"]
        index_bytes = (directory / ".chatd" / "index").stat().st_size

        store, big = FileStore(directory, key), big_conversation()
        saved = store.save(big)
        big_bytes = (directory / f"{saved.id}.json").stat().st_size

        def save_next() -> None:
            nonlocal saved
            saved = store.save(saved)

        saving = timed({"ours": save_next, "floor": save_floor(Path(root), key, saved)}, repeats)
        path = directory / f"{saved.id}.json"
        loading = timed(
            {"ours": lambda: store.load(saved.id), "floor": load_floor(path, key)}, repeats
        )
        save_ms, save_floor_ms = saving["ours"], saving["floor"]
        load_ms, load_floor_ms = loading["ours"], loading["floor"]

    speedup = reference_ms / warm_ms
    rows = [
        ("snapshots (encrypted)", f"{count:,}", f"{size / count / 1024:.1f} KB each"),
        ("index size", f"{index_bytes / 1024:.0f} KB", "sealed with the store key"),
        ("list first page, warm index", f"{warm_ms:.2f} ms", "fresh FileStore each time"),
        ("list first page, cold rebuild", f"{cold_ms:.0f} ms", "no index: every file read once"),
        ("reference List (read all, sort)", f"{reference_ms:.0f} ms", f"speedup {speedup:.0f}x"),
        ("save 1 MiB conversation", f"{save_ms:.2f} ms", f"{big_bytes / 2**20:.2f} MiB file"),
        ("  floor: encode+seal+write+fsync", f"{save_floor_ms:.2f} ms", ""),
        ("load 1 MiB conversation", f"{load_ms:.2f} ms", ""),
        ("  floor: read+open+decode", f"{load_floor_ms:.2f} ms", ""),
    ]
    print(f"chatd store benchmark ({platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}; medians of {repeats})")  # fmt: skip
    for name, value, note in rows:
        print(f"  {name:<34} {value:>12}  {note}")
    print(
        f"RESULT list_first_page_ms={warm_ms:.2f} list_speedup={speedup:.0f} "
        f"save_ratio={save_ms / save_floor_ms:.2f} load_ratio={load_ms / load_floor_ms:.2f} "
        f"list_cold_rebuild_ms={cold_ms:.0f} snapshots={count} "
        f"save_ms={save_ms:.2f} load_ms={load_ms:.2f}"
    )


if __name__ == "__main__":
    main()
