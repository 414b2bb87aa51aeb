"""A ``session/prompt``'s content blocks as the user message the model sees: one text and
the attachments, checked by the core as ``chat/send``'s are.

Text is kept as is. A resource link becomes a line naming it with its URI; an embedded text
resource becomes its text wrapped in a tag carrying its URI, so the model can cite where it
came from. Image and audio blocks become attachments; so does an embedded binary resource of
a type the session's provider takes (any other stays a line naming it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chatd.core.attachments import AttachmentInput
from chatd.errors import InvalidParams, MediaRejected

MEDIA_BLOCKS = frozenset({"image", "audio"})


@dataclass(frozen=True)
class Prompt:
    text: str
    attachments: list[AttachmentInput]
    blocks: list[int]
    """Each attachment's position among the prompt's blocks, for errors."""

    def located(self, exc: MediaRejected) -> MediaRejected:
        """The core's attachment error, naming the prompt block instead of the attachment."""
        if exc.index is None:
            return exc
        block = self.blocks[exc.index]
        moved = type(exc)(f"prompt block {block}: {exc.message}", index=block)
        moved.field = "prompt"
        return moved


def read_prompt(blocks: list[Any], accepted: frozenset[str]) -> Prompt:
    """``accepted``: the media types the session's provider takes.

    :raises InvalidParams: a block type this agent does not take.
    """
    texts: list[str] = []
    attachments: list[AttachmentInput] = []
    positions: list[int] = []
    for position, block in enumerate(blocks):
        media = _attachment(block, accepted)
        if media is None:
            texts.append(_block_text(block))
        else:
            attachments.append(media)
            positions.append(position)
    return Prompt("\n\n".join(texts), attachments, positions)


def _attachment(block: Any, accepted: frozenset[str]) -> AttachmentInput | None:
    if block.type in MEDIA_BLOCKS:
        return AttachmentInput(data=block.data, mime_type=block.mime_type, name=_name(block))
    if block.type == "resource":
        contents = block.resource
        blob = getattr(contents, "blob", None)
        if blob is not None and contents.mime_type in accepted:
            return AttachmentInput(data=blob, mime_type=contents.mime_type, name=_name(contents))
    return None


def _name(item: Any) -> str | None:
    """The last segment of the block's URI, if it has one."""
    uri = getattr(item, "uri", None)
    if not uri:
        return None
    return uri.rstrip("/").rsplit("/", 1)[-1] or None


def _block_text(block: Any) -> str:
    kind = block.type
    if kind == "text":
        return str(block.text)
    if kind == "resource_link":
        title = block.title or block.name
        about = f" ({block.description})" if block.description else ""
        return f"[Resource: {title}]({block.uri}){about}"
    if kind == "resource":
        contents = block.resource
        text = getattr(contents, "text", None)
        if text is None:
            mime = contents.mime_type or "binary"
            return f'<resource uri="{contents.uri}">({mime} content not shown)</resource>'
        return f'<resource uri="{contents.uri}">\n{text}\n</resource>'
    raise InvalidParams(f"this agent does not accept {kind} content in a prompt", field="prompt")
