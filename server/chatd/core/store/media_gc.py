"""Removing media blobs no conversation refers to any more (``chatd store gc``, deletes).

Runs under the store's writer lock, and saves write their new blobs under the same lock
before the snapshot that refers to them, so a blob is never collected between being written
and being referred to. If any snapshot cannot be read (another key, a damaged file), nothing
is collected: its references are unknown, and a blob it needs must not go.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from chatd.core.store.files import is_temp_name
from chatd.core.store.media import MEDIA_DIR, MEDIA_NAME, REFERENCES
from chatd.core.store.snapshot import SNAPSHOT_SUFFIX
from chatd.errors import StoreError

ReadPlain = Callable[[Path], bytes]
"""A snapshot file's JSON bytes (decrypted); raises ``StoreError`` when it cannot."""


@dataclass(frozen=True, slots=True)
class Collected:
    removed: int
    kept: int
    unreadable: tuple[str, ...] = ()
    """Snapshot files whose references could not be read: nothing was removed then."""


def references(plain: bytes) -> set[str]:
    return {match.decode() for match in REFERENCES.findall(plain)}


def collect(store_dir: Path, read_plain: ReadPlain, only: Iterable[str] | None = None) -> Collected:
    """Remove the blobs (of ``only``, else all) that no snapshot file refers to."""
    media = store_dir / MEDIA_DIR
    try:
        names = {name for name in os.listdir(media) if MEDIA_NAME.fullmatch(name)}
    except FileNotFoundError:
        return Collected(0, 0)
    candidates = names if only is None else names & set(only)
    if not candidates:
        return Collected(0, len(names))
    used: set[str] = set()
    unreadable = []
    for entry in os.scandir(store_dir):
        if not entry.name.endswith(SNAPSHOT_SUFFIX) or is_temp_name(entry.name):
            continue
        try:
            used |= references(read_plain(Path(entry.path)))
        except (StoreError, OSError):
            unreadable.append(entry.name)
    if unreadable:
        return Collected(0, len(names), tuple(sorted(unreadable)))
    removed = 0
    for name in sorted(candidates - used):
        (media / name).unlink(missing_ok=True)
        removed += 1
    return Collected(removed, len(names) - removed)
