"""Moving a whole store under a new key, or from plaintext under a key, one file at a time.

Each file is replaced atomically under the store lock, so a crash leaves every file under the
old key or the new one, and running again finishes the job: a file the new key already opens is
skipped. Other writers should be stopped first: a daemon still holding the old key would go on
writing files under it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from chatd.core.store.crypto import Envelope, is_json_text, is_text
from chatd.core.store.files import is_temp_name, remove_if_stale, write_atomic
from chatd.core.store.filestore import INDEX_FILES, STATE_DIR, FileStore, store_lock
from chatd.core.store.media import MEDIA_DIR, MEDIA_NAME
from chatd.core.store.snapshot import SNAPSHOT_ID, SNAPSHOT_SUFFIX
from chatd.errors import SnapshotUnreadable

_SNAPSHOT_FILE = re.compile(SNAPSHOT_ID.pattern + re.escape(SNAPSHOT_SUFFIX))


class Reencryption:
    """One run of ``chatd store rekey`` or ``chatd store encrypt`` over ``directory``."""

    def __init__(self, directory: Path, *, old_key: bytes | None, new_key: bytes) -> None:
        """:raises ConfigError: a key that is not 32 bytes."""
        self._dir = directory
        self._old = Envelope(old_key)
        self._new = Envelope(new_key)
        self._store = FileStore(directory, new_key)

    def start(self) -> list[Path]:
        """Every snapshot and media blob to convert.

        The index is dropped first: until ``finish`` rebuilds it under the new key, an old one
        (plaintext, before ``encrypt``) must not linger.
        """
        if not self._dir.is_dir():
            return []
        for name in INDEX_FILES:
            (self._dir / STATE_DIR / name).unlink(missing_ok=True)
        media_dir = self._dir / MEDIA_DIR
        media = _files(media_dir, MEDIA_NAME) if media_dir.is_dir() else []
        return _files(self._dir, _SNAPSHOT_FILE) + media

    def convert(self, path: Path) -> bool:
        """Seal one file under the new key; False when it already was.

        :raises DecryptionFailed: the old key does not open it either (or its subclasses:
            plaintext where a key was expected, or the reverse).
        :raises SnapshotUnreadable:
        """
        is_plain = is_text if path.parent.name == MEDIA_DIR else is_json_text
        with store_lock(self._dir):
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise SnapshotUnreadable(f"cannot read {path}: {exc.strerror}") from None
            if self._new.opens(data):
                return False
            plain = self._old.open(data, what=str(path), is_plain=is_plain)
            write_atomic(path.parent, path.name, self._new.seal(plain))
            return True

    def finish(self) -> None:
        """Rebuild the index under the new key."""
        if self._dir.is_dir():
            self._store.reindex()


def _files(directory: Path, name: re.Pattern[str]) -> list[Path]:
    """The files in ``directory`` whose whole name matches; stale temp files are removed."""
    found = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if is_temp_name(entry.name):
                remove_if_stale(entry)
            elif name.fullmatch(entry.name):
                found.append(Path(entry.path))
    return sorted(found)
