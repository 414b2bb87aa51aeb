"""A ``session/prompt``'s content blocks as the one text message the model sees.

Text is kept as is. A resource link becomes a line naming it with its URI; an embedded text
resource becomes its text wrapped in a tag carrying its URI, so the model can cite where it
came from. Images and audio are refused: ``promptCapabilities`` does not offer them.
"""

from __future__ import annotations

from typing import Any

from chatd.errors import InvalidParams


def prompt_text(blocks: list[Any]) -> str:
    """:raises InvalidParams: a block type this agent did not advertise."""
    return "\n\n".join(_block_text(block) for block in blocks)


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
    raise InvalidParams(
        f"this agent does not accept {kind} content in a prompt (see promptCapabilities)",
        field="prompt",
    )
