"""The key check: which key a store belongs to, so no process mixes keys or modes in it.

An encrypted store holds ``.chatd/keycheck``, a small JSON file with an identifier of its key
(HMAC-SHA256 of a constant, keyed with the store key: it says nothing about the key itself).
``chatd store encrypt`` / ``rekey`` and the first encrypted save write it. Before writing, a
process compares its own key with it: no key, or another key, and it refuses to write, so an
encrypted store never gains plaintext files or files under a key its owner does not have.
A store without the file is plaintext, unless files in it say otherwise (stores encrypted by
the reference framework, or by a chatd older than the key check): those are looked at once.
The reference ignores directories, so it never trips on the file.
"""

from __future__ import annotations

import codecs
import hashlib
import hmac
import json
import os
import re
from pathlib import Path

from chatd.core.store.crypto import KEY_SOURCES, Envelope
from chatd.core.store.files import write_atomic
from chatd.core.store.snapshot import SNAPSHOT_ID, SNAPSHOT_SUFFIX
from chatd.errors import DecryptionFailed, EncryptedWithoutKey, NotEncrypted, WrongKey

KEYCHECK_NAME = "keycheck"
KEYCHECK_VERSION = 1
_CONSTANT = b"chatd store key check v1"
DAMAGED_ID = "damaged"
"""What a damaged key check reads as: a key nobody has."""
_HEAD_BYTES = 64
"""Enough of a file to tell plain JSON from ciphertext."""

SNAPSHOT_FILE = re.compile(SNAPSHOT_ID.pattern + re.escape(SNAPSHOT_SUFFIX))

NO_KEY_MESSAGE = (
    "the store {dir} is encrypted, and no store key is configured: configure it "
    f"({KEY_SOURCES}); nothing was written"
)
WRONG_KEY_MESSAGE = (
    "the store {dir} is encrypted with another key than the configured one: configure its key "
    f"({KEY_SOURCES}), or move it to a new key with `chatd store rekey`; nothing was written"
)
ALREADY_ENCRYPTED_MESSAGE = (
    "the store {dir} is encrypted with another key than the configured one: configure its "
    f"current key ({KEY_SOURCES}) and give the new one to `chatd store rekey --new-key-file`"
)
PLAIN_STORE_MESSAGE = (
    "the store {dir} holds conversations that are not encrypted, and a store key is "
    "configured: run `chatd store encrypt` to encrypt them first; nothing was written"
)


def key_id(key: bytes) -> str:
    """The identifier of ``key`` kept in the key check file (never the key)."""
    return hmac.new(key, _CONSTANT, hashlib.sha256).hexdigest()


class KeyGuard:
    """Checks, before a process writes to a store, that the store's key is the process's own."""

    def __init__(self, directory: Path, state_dir: Path, key: bytes | None) -> None:
        self._dir = directory
        self._state = state_dir
        self._own_id = key_id(key) if key is not None else None
        self._envelope = Envelope(key)
        self._files_checked = False

    def check(self) -> None:
        """:raises EncryptedWithoutKey, WrongKey, NotEncrypted: writing would mix keys or modes."""
        self._checked()

    def _checked(self) -> bool:
        """Check; whether the store has a key check recorded."""
        recorded = read_key_id(self._state)
        if recorded is not None:
            self._check_recorded(recorded)
            return True
        if not self._files_checked:
            self._check_files()
            self._files_checked = True
        return False

    def allows_writes(self) -> bool:
        try:
            self.check()
        except DecryptionFailed:
            return False
        return True

    def before_write(self) -> None:
        """Check, and record the key of a store that is encrypted but has no key check yet.

        Call with the store lock held and the state directory made.
        :raises EncryptedWithoutKey, WrongKey, NotEncrypted:
        """
        if not self._checked() and self._own_id is not None:
            write_key_id(self._state, self._own_id)

    def _check_recorded(self, recorded: str) -> None:
        if self._own_id is None:
            raise EncryptedWithoutKey(NO_KEY_MESSAGE.format(dir=self._dir))
        if not hmac.compare_digest(recorded, self._own_id):
            raise WrongKey(WRONG_KEY_MESSAGE.format(dir=self._dir))

    def _check_files(self) -> None:
        """Judge a store without a key check by its snapshot files."""
        plain, sealed = _classify(self._dir)
        if self._own_id is None:
            if sealed:
                raise EncryptedWithoutKey(NO_KEY_MESSAGE.format(dir=self._dir))
            return
        if plain:
            raise NotEncrypted(PLAIN_STORE_MESSAGE.format(dir=self._dir))
        if sealed and not any(self._envelope.opens(_read(path)) for path in sealed[:3]):
            raise WrongKey(WRONG_KEY_MESSAGE.format(dir=self._dir))


def read_key_id(state_dir: Path) -> str | None:
    """The key identifier recorded in ``state_dir``, or None when the store has none.

    A damaged file counts as a key nobody has: writes stay refused until a re-encryption.
    """
    try:
        data = (state_dir / KEYCHECK_NAME).read_bytes()
    except FileNotFoundError:
        return None
    try:
        recorded = json.loads(data)["key_id"]
    except (ValueError, TypeError, KeyError):
        return DAMAGED_ID
    return recorded if isinstance(recorded, str) else DAMAGED_ID


def write_key_id(state_dir: Path, identifier: str) -> None:
    """Record the key ``identifier`` names as the store's key (``state_dir`` must exist)."""
    document = {"version": KEYCHECK_VERSION, "algorithm": "HMAC-SHA256", "key_id": identifier}
    write_atomic(state_dir, KEYCHECK_NAME, json.dumps(document).encode() + b"\n")


def _classify(directory: Path) -> tuple[list[Path], list[Path]]:
    """The plaintext and the encrypted snapshot files of ``directory``."""
    plain: list[Path] = []
    sealed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return plain, sealed
    for entry in entries:
        if SNAPSHOT_FILE.fullmatch(entry.name) and entry.is_file():
            path = Path(entry.path)
            (plain if _looks_plain(_read(path, _HEAD_BYTES)) else sealed).append(path)
    return plain, sealed


def _looks_plain(head: bytes) -> bool:
    """Whether the first bytes of a file are JSON text (ciphertext practically never is UTF-8)."""
    if not head.lstrip(b" \t\r\n").startswith(b"{"):
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _read(path: Path, size: int = -1) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except OSError:
        return b""
