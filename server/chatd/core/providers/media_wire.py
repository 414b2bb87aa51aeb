"""Attachments in each API's own message format, and read back for ``chat/history``.

Claude: base64 ``image`` blocks, a PDF as a base64 ``document`` block. Chat Completions: an
``image_url`` part with a ``data:`` URI, a PDF as a ``file`` part (``file_data`` a ``data:``
URI). Gemini: ``inlineData`` parts with standard base64. The text always comes first, then
the attachments in the caller's order, as the reference sends them.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Sequence
from typing import Any

from chatd.core.attachments import Attachment, MediaInfo, base64_size
from chatd.core.providers.base import TranscriptItem

PDF = "application/pdf"
DEFAULT_PDF_NAME = "document.pdf"


def claude_blocks(attachments: Sequence[Attachment]) -> list[dict[str, Any]]:
    return [
        {
            "type": "document" if item.mime_type == PDF else "image",
            "source": {"type": "base64", "media_type": item.mime_type, "data": item.base64},
        }
        for item in attachments
    ]


def openai_parts(text: str, attachments: Sequence[Attachment]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    for item in attachments:
        if item.mime_type == PDF:
            file = {"filename": item.name or DEFAULT_PDF_NAME, "file_data": item.data_uri}
            parts.append({"type": "file", "file": file})
        else:
            parts.append({"type": "image_url", "image_url": {"url": item.data_uri}})
    return parts


def gemini_parts(attachments: Sequence[Attachment]) -> list[dict[str, Any]]:
    return [
        {"inlineData": {"mimeType": item.mime_type, "data": item.base64}} for item in attachments
    ]


def claude_media(blocks: Sequence[dict[str, Any]]) -> tuple[MediaInfo, ...]:
    found = []
    for block in blocks:
        source = block.get("source")
        if block.get("type") in ("image", "document") and isinstance(source, dict):
            data = source.get("data")
            size = base64_size(data) if isinstance(data, str) else 0
            found.append(MediaInfo(str(source.get("media_type", "")), size, data=str(data)))
    return tuple(found)


def openai_media(content: Any) -> tuple[MediaInfo, ...]:
    found = []
    for part in content if isinstance(content, list) else ():
        if not isinstance(part, dict):
            continue
        if part.get("type") == "image_url":
            found.append(_from_uri(str((part.get("image_url") or {}).get("url", "")), None))
        elif part.get("type") == "file":
            file = part.get("file") or {}
            found.append(_from_uri(str(file.get("file_data", "")), file.get("filename")))
    return tuple(found)


def gemini_media(parts: Sequence[dict[str, Any]]) -> tuple[MediaInfo, ...]:
    found = []
    for part in parts:
        inline = part.get("inlineData")
        if isinstance(inline, dict):
            data = inline.get("data")
            size = base64_size(data) if isinstance(data, str) else 0
            found.append(MediaInfo(str(inline.get("mimeType", "")), size, data=str(data)))
    return tuple(found)


def with_media(items: list[TranscriptItem], media: tuple[MediaInfo, ...]) -> list[TranscriptItem]:
    """One user message's items with its attachments on its user item (made if it had none),
    and no longer counted among the parts a conversion leaves behind."""
    if not media:
        return items
    items = [item._replace(omitted=_without(item.omitted, media)) for item in items]
    for position, item in enumerate(items):
        if item.role == "user":
            return [*items[:position], item._replace(attachments=media), *items[position + 1 :]]
    return [*items, TranscriptItem("user", attachments=media)]


def carried(media: Sequence[MediaInfo], accepted: frozenset[str]) -> list[Attachment]:
    """The attachments of a converted message that the target provider takes."""
    return [
        Attachment(base64.b64decode(item.data), item.mime_type, item.name)
        for item in media
        if item.mime_type in accepted and item.data
    ]


def media_warnings(
    items: Sequence[TranscriptItem], target: str, accepted: frozenset[str]
) -> list[str]:
    dropped = Counter(
        media.mime_type
        for item in items
        for media in item.attachments
        if media.mime_type not in accepted
    )
    return [
        f"{target} does not take {kind}: dropped {count} attachment{'s' if count > 1 else ''}"
        for kind, count in sorted(dropped.items())
    ]


def _without(omitted: tuple[str, ...], media: tuple[MediaInfo, ...]) -> tuple[str, ...]:
    left = list(omitted)
    for item in media:
        name = "image" if item.mime_type.startswith("image/") else "file"
        if name in left:
            left.remove(name)
    return tuple(left)


def _from_uri(uri: str, name: Any) -> MediaInfo:
    head, _, data = uri.partition(",")
    kind = head.removeprefix("data:").split(";")[0]
    return MediaInfo(kind, base64_size(data), name if isinstance(name, str) else None, data)
