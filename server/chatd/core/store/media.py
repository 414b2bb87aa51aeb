"""Media out of the snapshots: ``chatmedia+sha256:<hex>`` references to ``<dir>/media/<hex>``.

The reference's format, both ways. On save every string in the messages that is at least
``MIN_MEDIA_CHARS`` long and a ``data:…;base64,`` URI or standard base64 (an image, a PDF, a
long signature) is written once to ``media/<sha256 of the string>`` (the store's envelope,
0600) and replaced by its reference; the blob holds the exact string. A string that merely
starts with the prefix (a user typing it) goes out the same way, so in a file chatd writes
every string with the prefix is a real reference. On load, references are resolved and each
blob's hash checked; a reference-shaped string with a malformed hash is rejected (as the
reference does); a missing blob is ``MediaMissing``.

Hashing 50 MiB of base64 on every save would make each save cost what the first did, so the
store remembers the strings it has hashed (by identity: a live session keeps the same string
objects from save to save), up to ``CACHE_CHARS`` characters.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any

from chatd.core.store.crypto import Envelope, is_text
from chatd.core.store.files import DIR_MODE, write_atomic
from chatd.errors import CorruptSnapshot, MediaMissing, SnapshotUnreadable

MEDIA_DIR = "media"
MEDIA_PREFIX = "chatmedia+sha256:"
MEDIA_PREFIX_BYTES = MEDIA_PREFIX.encode()
MEDIA_NAME = re.compile(r"[0-9a-f]{64}")
REFERENCES = re.compile(re.escape(MEDIA_PREFIX_BYTES) + rb"([0-9a-f]{64})")
"""Every reference in a snapshot's JSON bytes, for garbage collection."""
_REFERENCE = re.compile(re.escape(MEDIA_PREFIX) + MEDIA_NAME.pattern)
_MALFORMED = re.compile(re.escape(MEDIA_PREFIX) + r"[0-9A-Fa-f]*")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_DATA_URI = re.compile(r"data:[\w.+-]+/[\w.+-]+(;[\w.+-]+=[\w.+-]+)*;base64,")

MIN_MEDIA_CHARS = 512
"""The reference's threshold: shorter strings stay inline (a signature, a short id)."""

CACHE_CHARS = 512 * 1024 * 1024
"""Hashed strings the store keeps pinned; beyond this the oldest are hashed again if saved."""


def looks_like_media(text: str) -> bool:
    if text.startswith(MEDIA_PREFIX):
        return True
    if len(text) < MIN_MEDIA_CHARS:
        return False
    if _DATA_URI.match(text):
        return True
    return len(text) % 4 == 0 and _BASE64.fullmatch(text) is not None


class MediaBlobs:
    """The blobs of one store directory, and the digests of strings already hashed."""

    def __init__(self, store_dir: Path, envelope: Envelope) -> None:
        self.directory = store_dir / MEDIA_DIR
        self._envelope = envelope
        self._known: OrderedDict[int, tuple[str, str]] = OrderedDict()
        self._known_chars = 0

    def externalise(self, messages: list[Any]) -> tuple[list[Any], dict[str, str]]:
        """``messages`` with media replaced by references, and the blobs they need."""
        needed: dict[str, str] = {}

        def walk(value: Any) -> Any:
            if isinstance(value, str):
                digest = self._cached(value)
                if digest is None:
                    if not looks_like_media(value):
                        return value
                    digest = hashlib.sha256(value.encode()).hexdigest()
                    self._remember(value, digest)
                needed[digest] = value
                return MEDIA_PREFIX + digest
            if isinstance(value, list):
                return [walk(item) for item in value]
            if isinstance(value, dict):
                return {key: walk(item) for key, item in value.items()}
            return value

        return walk(messages), needed

    def write_missing(self, blobs: dict[str, str]) -> None:
        """Write the blobs not there yet (the caller holds the store lock, as ``gc`` does)."""
        if not blobs:
            return
        try:
            os.mkdir(self.directory, DIR_MODE)
        except FileExistsError:
            pass
        for digest, content in blobs.items():
            if not (self.directory / digest).exists():
                write_atomic(self.directory, digest, self._envelope.seal(content.encode()))

    def resolve(self, messages: list[Any], *, file: str) -> Any:
        """``messages`` with every reference replaced by its blob's content.

        :raises MediaMissing: a referenced blob is not there.
        :raises CorruptSnapshot: a malformed reference, or a blob not matching its hash.
        :raises DecryptionFailed: a blob cannot be decrypted.
        """
        blobs: dict[str, str] = {}

        def resolve(value: Any) -> Any:
            if isinstance(value, str):
                if _REFERENCE.fullmatch(value):
                    digest = value[len(MEDIA_PREFIX) :]
                    if digest not in blobs:
                        blobs[digest] = self.read(digest, file=file)
                    return blobs[digest]
                if _MALFORMED.fullmatch(value) and len(value) > len(MEDIA_PREFIX):
                    raise CorruptSnapshot(f"{file} has a malformed media reference")
                return value
            if isinstance(value, list):
                return [resolve(item) for item in value]
            if isinstance(value, dict):
                return {key: resolve(item) for key, item in value.items()}
            return value

        return resolve(messages)

    def read(self, digest: str, *, file: str) -> str:
        path = self.directory / digest
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise MediaMissing(
                f"{file} refers to media blob {digest}, which is missing from {self.directory}",
                digest=digest,
            ) from None
        except OSError as exc:
            raise SnapshotUnreadable(f"cannot read media blob {path}: {exc.strerror}") from None
        content = self._envelope.open(data, what=f"media blob {path}", is_plain=is_text).decode()
        if hashlib.sha256(content.encode()).hexdigest() != digest:
            raise CorruptSnapshot(
                f"media blob {path} is damaged: its content does not match its hash"
            )
        self._remember(content, digest)
        return content

    def _cached(self, text: str) -> str | None:
        """The digest of this very string object, if it was hashed as media before."""
        if len(text) < MIN_MEDIA_CHARS:
            return None
        known = self._known.get(id(text))
        if known is None or known[0] is not text:
            return None
        self._known.move_to_end(id(text))
        return known[1]

    def _remember(self, text: str, digest: str) -> None:
        if len(text) < MIN_MEDIA_CHARS:
            return
        previous = self._known.pop(id(text), None)
        if previous is not None:
            self._known_chars -= len(previous[0])
        self._known[id(text)] = (text, digest)
        self._known_chars += len(text)
        while self._known_chars > CACHE_CHARS and self._known:
            _, (old, _) = self._known.popitem(last=False)
            self._known_chars -= len(old)
