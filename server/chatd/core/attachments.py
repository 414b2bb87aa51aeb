"""Attachments: every check in one place, before any network call, then one neutral value.

In order (the reference's order): the provider takes media at all; at most ``MAX_COUNT``;
each one non-empty and at most the configured size; its type sniffed from the bytes and on
the allowlist; a declared type of the same family as the sniffed one (the sniffed one wins:
GIF bytes declared ``image/png`` go out as ``image/gif``; PDF bytes declared as an image are
rejected); the provider takes that exact type. A ``path`` is read only when it resolves
(symlinks followed) inside the session's workspace or a configured allowed directory, so
the socket is no way to read arbitrary files. Errors name the attachment by its index.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import anyio

from chatd.config import AttachmentSettings
from chatd.errors import MediaRejected, MediaUnsupported

MAX_COUNT = 16
"""The reference's bound, and about what the APIs take in one message."""

IMAGES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
DOCUMENTS = frozenset({"application/pdf"})
AUDIO_VIDEO = frozenset(
    {"video/mp4", "video/webm", "video/avi", "audio/mp3", "audio/wav", "audio/aiff", "audio/ogg"}
)
"""Named as Gemini, the provider that takes them, documents them (``audio/wav``, not the
IANA ``audio/wave``); a declared IANA name is of the same family, so the bytes' name wins."""
ALLOWED = IMAGES | DOCUMENTS | AUDIO_VIDEO

_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),
    (0, b"ID3", "audio/mp3"),
    (0, b"OggS", "audio/ogg"),
    (4, b"ftyp", "video/mp4"),
)
_RIFF_KINDS = {b"WEBP": "image/webp", b"AVI ": "video/avi", b"WAVE": "audio/wav"}


@dataclass(frozen=True, slots=True)
class AttachmentInput:
    """One attachment as a client sends it: a ``path``, or base64 ``data``."""

    path: str | None = None
    data: str | None = None
    mime_type: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """Checked bytes with their sniffed type, ready for any provider's wire format."""

    data: bytes
    mime_type: str
    name: str | None = None

    @property
    def base64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")

    @property
    def data_uri(self) -> str:
        return f"data:{self.mime_type};base64,{self.base64}"


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """An attachment in a history: ``chat/history`` shows all but ``data``; a conversion
    into another provider carries ``data`` over."""

    mime_type: str
    size: int
    name: str | None = None
    data: str = field(default="", repr=False)
    """Standard base64, the very string the history holds (no copy)."""


def base64_size(text: str) -> int:
    """The decoded size of standard base64 ``text``, without decoding it."""
    return len(text) * 3 // 4 - text[-2:].count("=")


def sniff(data: bytes) -> str | None:
    """The type the bytes say they are, from their magic numbers; None if none is known."""
    for offset, magic, kind in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return kind
    if data[:4] == b"RIFF":
        return _RIFF_KINDS.get(data[8:12])
    if data[:4] == b"FORM" and data[8:12] in (b"AIFF", b"AIFC"):
        return "audio/aiff"
    if data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mp3"
    return None


async def prepare_off_loop(
    inputs: Sequence[AttachmentInput],
    *,
    provider: str,
    accepted: frozenset[str],
    limits: AttachmentSettings,
    workspace: str | None,
) -> list[Attachment]:
    """``prepare`` on a thread (a path is file I/O, 16 × 20 MiB is real work), with the
    session's workspace and the configured directories as the roots paths may be under."""
    if not inputs:
        return []
    roots = [Path(workspace)] if workspace else []
    check = partial(
        prepare,
        inputs,
        provider=provider,
        accepted=accepted,
        max_bytes=limits.max_bytes,
        roots=[*roots, *limits.allowed_dirs],
    )
    return await anyio.to_thread.run_sync(check)


def prepare(
    inputs: Sequence[AttachmentInput],
    *,
    provider: str,
    accepted: frozenset[str],
    max_bytes: int,
    roots: Sequence[Path],
) -> list[Attachment]:
    """The checked attachments, in the caller's order.

    :raises MediaUnsupported: the provider takes no media, or not this type.
    :raises MediaRejected: too many, empty, too big, unknown or mislabelled type, bad path.
    """
    if not inputs:
        return []
    if not accepted:
        raise MediaUnsupported(f"{provider} takes no attachments", index=0)
    if len(inputs) > MAX_COUNT:
        raise MediaRejected(f"at most {MAX_COUNT} attachments per message, not {len(inputs)}")
    return [
        _checked(index, item, provider, accepted, max_bytes, roots)
        for index, item in enumerate(inputs)
    ]


def _checked(
    index: int,
    item: AttachmentInput,
    provider: str,
    accepted: frozenset[str],
    max_bytes: int,
    roots: Sequence[Path],
) -> Attachment:
    data, name = _read(index, item, max_bytes, roots)
    if not data:
        raise MediaRejected(f"attachment {index} is empty", index=index)
    if len(data) > max_bytes:
        raise MediaRejected(_too_big(index, max_bytes), index=index)
    kind = sniff(data)
    if kind not in ALLOWED:
        raise MediaRejected(
            f"attachment {index} is not an allowed type (images jpeg/png/gif/webp, PDF, "
            "audio, video)",
            index=index,
        )
    declared = (item.mime_type or "").split(";")[0].strip().lower()
    if declared and declared.split("/")[0] != kind.split("/")[0]:
        raise MediaRejected(
            f"attachment {index} is declared {declared} but its bytes are {kind}", index=index
        )
    if kind not in accepted:
        raise MediaUnsupported(f"{provider} does not take {kind} (attachment {index})", index=index)
    return Attachment(data, kind, name)


def _read(
    index: int, item: AttachmentInput, max_bytes: int, roots: Sequence[Path]
) -> tuple[bytes, str | None]:
    if (item.path is None) == (item.data is None):
        raise MediaRejected(f"attachment {index} needs exactly one of path and data", index=index)
    if item.data is not None:
        if len(item.data) > (max_bytes + 2) // 3 * 4 + 4:
            raise MediaRejected(_too_big(index, max_bytes), index=index)
        try:
            return base64.b64decode(item.data, validate=True), item.name
        except (binascii.Error, ValueError):
            raise MediaRejected(f"attachment {index}: data is not base64", index=index) from None
    assert item.path is not None
    given = Path(item.path).expanduser()
    if not given.is_absolute():
        if not roots:
            raise MediaRejected(
                f"attachment {index}: a relative path needs a workspace", index=index
            )
        given = roots[0] / given
    path = Path(os.path.realpath(given))
    if not any(path.is_relative_to(os.path.realpath(root)) for root in roots):
        raise MediaRejected(
            f"attachment {index}: the daemon reads files only under the session's workspace "
            "or an allowed directory ([attachments] allowed_dirs)",
            index=index,
        )
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise MediaRejected(
            f"attachment {index}: cannot read {path.name}: {exc.strerror}", index=index
        ) from None
    return data, item.name or path.name


def _too_big(index: int, max_bytes: int) -> str:
    return f"attachment {index} is larger than the limit of {max_bytes} bytes"
