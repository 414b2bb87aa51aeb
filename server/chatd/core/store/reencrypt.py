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
from chatd.core.store.keycheck import (
    ALREADY_ENCRYPTED_MESSAGE,
    SNAPSHOT_FILE,
    key_id,
    read_key_id,
    write_key_id,
)
from chatd.core.store.media import MEDIA_DIR, MEDIA_NAME
from chatd.errors import SnapshotUnreadable, WrongKey


class Reencryption:
    """One run of ``chatd store rekey`` or ``chatd store encrypt`` over ``directory``."""

    def __init__(self, directory: Path, *, old_key: bytes | None, new_key: bytes) -> None:
        """:raises ConfigError: a key that is not 32 bytes."""
        self._dir = directory
        self._old_id = key_id(old_key) if old_key is not None else None
        self._new_id = key_id(new_key)
        self._old = Envelope(old_key)
        self._new = Envelope(new_key)
        self._store = FileStore(directory, new_key)

    def start(self) -> list[Path]:
        """Every snapshot and media blob to convert.

        The index is dropped first: until ``finish`` rebuilds it under the new key, an old one
        (plaintext, before ``encrypt``) must not linger. The key check names the new key from
        here on, so a process still holding the old key stops writing.

        :raises WrongKey: the store's key check names neither key (a run again after an
            interruption finds the new one).
        """
        if not self._dir.is_dir():
            return []
        state = self._dir / STATE_DIR
        with store_lock(self._dir):
            recorded = read_key_id(state)
            if recorded is not None and recorded not in (self._old_id, self._new_id):
                raise WrongKey(ALREADY_ENCRYPTED_MESSAGE.format(dir=self._dir))
            write_key_id(state, self._new_id)
        for name in INDEX_FILES:
            (self._dir / STATE_DIR / name).unlink(missing_ok=True)
        media_dir = self._dir / MEDIA_DIR
        media = _files(media_dir, MEDIA_NAME) if media_dir.is_dir() else []
        return _files(self._dir, SNAPSHOT_FILE) + media

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
