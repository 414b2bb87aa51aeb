"""Media references of reference-written snapshots: ``chatmedia+sha256:<hex>`` strings in the
messages, standing for blobs in ``<dir>/media/<hex>``.

The reference moves large base64 strings out of its snapshots into that content-addressed
cache (same envelope as the snapshots; the hash is over the original string). chatd never
writes references, but resolves them on load so those conversations open intact. Only an exact
``prefix + 64 lowercase hex`` string is a reference: a user who types the prefix keeps the text.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from chatd.core.store.crypto import Envelope, is_text
from chatd.errors import CorruptSnapshot, SnapshotUnreadable

MEDIA_DIR = "media"
MEDIA_PREFIX = "chatmedia+sha256:"
MEDIA_PREFIX_BYTES = MEDIA_PREFIX.encode()
MEDIA_NAME = re.compile(r"[0-9a-f]{64}")
_REFERENCE = re.compile(re.escape(MEDIA_PREFIX) + MEDIA_NAME.pattern)


def resolve_media(messages: list[Any], media_dir: Path, envelope: Envelope, *, file: str) -> Any:
    """``messages`` with every media reference replaced by the blob's content.

    :raises CorruptSnapshot: a referenced blob is missing or does not match its hash.
    :raises DecryptionFailed: a blob cannot be decrypted.
    """
    blobs: dict[str, str] = {}

    def blob(digest: str) -> str:
        if digest not in blobs:
            blobs[digest] = read_blob(media_dir, digest, envelope, file=file)
        return blobs[digest]

    def resolve(value: Any) -> Any:
        if isinstance(value, str):
            return blob(value[len(MEDIA_PREFIX) :]) if _REFERENCE.fullmatch(value) else value
        if isinstance(value, list):
            return [resolve(item) for item in value]
        if isinstance(value, dict):
            return {key: resolve(item) for key, item in value.items()}
        return value

    return resolve(messages)


def read_blob(media_dir: Path, digest: str, envelope: Envelope, *, file: str) -> str:
    path = media_dir / digest
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CorruptSnapshot(
            f"{file} refers to media blob {digest}, which is missing from {media_dir}"
        ) from None
    except OSError as exc:
        raise SnapshotUnreadable(f"cannot read media blob {path}: {exc.strerror}") from None
    content = envelope.open(data, what=f"media blob {path}", is_plain=is_text).decode("utf-8")
    if hashlib.sha256(content.encode("utf-8")).hexdigest() != digest:
        raise CorruptSnapshot(f"media blob {path} is damaged: its content does not match its hash")
    return content
