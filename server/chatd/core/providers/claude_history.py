"""Anthropic ``MessageParam`` JSON: checking restored histories, repairing them, ids.

No SDK needed: these work on the plain JSON that history and snapshots hold.
"""

from __future__ import annotations

import re
from typing import Any

from chatd.core.providers.base import Usage
from chatd.core.providers.transcript import (
    IMAGE_PLACEHOLDER,
    INTERRUPTED_RESULT,
    close_dangling,
    corrupt,
    placeholders,
    require,
)

TOOL_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
"""Anthropic tool-use ids must match ``^[a-zA-Z0-9_-]+$``; ids from other providers may not."""

OMITTED_BLOCKS = {
    "redacted_thinking": ("redacted thinking block",),
    "image": ("image",),
    "document": ("file",),
}
"""Blocks the neutral transcript cannot carry, as conversion warnings name them; any other
block type it does not know (server tools, containers …) is named after its type."""

CARRIED_BLOCKS = frozenset({"text", "tool_use", "tool_result", "thinking"})


def tool_result_block(call_id: str, content: str, is_error: bool) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": call_id, "content": content}
    if is_error:
        block["is_error"] = True
    return block


def safe_id(call_id: str) -> str:
    return TOOL_ID_UNSAFE.sub("_", call_id) or "toolu_chatd"


def content_blocks(content: Any) -> list[dict[str, Any]]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)


def plain_text(content: Any) -> str | None:
    """The text of a message that is nothing but text (a string, or one text block), else
    None: such a message is one transcript item with nothing omitted."""
    if isinstance(content, str):
        return content
    if len(content) == 1 and content[0].get("type") == "text":
        return str(content[0].get("text", ""))
    return None


def visible_text(block: dict[str, Any]) -> str:
    if block.get("type") == "text":
        return str(block.get("text", ""))
    if block.get("type") in ("image", "document"):
        return IMAGE_PLACEHOLDER
    return ""


def omitted_parts(block: dict[str, Any]) -> tuple[str, ...]:
    """What the neutral transcript leaves out of ``block``, for the conversion warnings."""
    kind = block.get("type")
    if kind == "thinking":
        return ("thinking block", "signature") if block.get("signature") else ("thinking block",)
    if kind == "tool_result":
        return placeholders(block.get("content"))
    if kind in CARRIED_BLOCKS:
        return ()
    return OMITTED_BLOCKS.get(str(kind), (f"{kind} block",))


def is_empty_text(block: dict[str, Any]) -> bool:
    """The API rejects empty text blocks, which a model can nevertheless send."""
    return block.get("type") == "text" and not str(block.get("text", "")).strip()


def checked_history(messages: list[dict[str, Any]], provider: str) -> list[Any]:
    """A restored history the API will take: every message and block checked in one pass,
    the empty text blocks the reference could save dropped (only if there are any), each
    dangling tool call answered.

    :raises CorruptSnapshot: naming the first bad message.
    """
    has_empty_text = False
    for index, message in enumerate(messages):
        require(message.get("role") in ("user", "assistant"), provider, index, "bad role")
        content = message.get("content")
        if isinstance(content, str):
            continue
        if not isinstance(content, list):
            raise corrupt(provider, index, "content not str or list")
        for block in content:
            if not check_block(block, provider, index):
                has_empty_text = True
    return close_dangling_calls(without_empty_text(messages) if has_empty_text else messages)


def check_block(block: Any, provider: str, index: int) -> bool:
    """Whether the API takes ``block`` as it is: false for an empty text block, which a
    model can send but the API refuses back.

    :raises CorruptSnapshot: no block of its type could be like this.
    """
    kind = block.get("type") if isinstance(block, dict) else None
    if kind == "text":  # nearly every block: tested first
        require(isinstance(block.get("text"), str), provider, index, "text block without text")
        return not is_empty_text(block)
    require(isinstance(kind, str), provider, index, "content blocks need a type")
    if kind == "tool_use":
        require(
            isinstance(block.get("id"), str)
            and isinstance(block.get("name"), str)
            and isinstance(block.get("input", {}), dict),
            provider,
            index,
            "tool_use block needs id, name and an object input",
        )
    elif kind == "tool_result":
        require(
            isinstance(block.get("tool_use_id"), str),
            provider,
            index,
            "tool_result without tool_use_id",
        )
    return True


def without_empty_text(history: list[Any]) -> list[Any]:
    """Drop the empty text blocks (and emptied messages) the reference could save."""
    cleaned = []
    for message in history:
        if isinstance(message["content"], list):
            blocks = [block for block in message["content"] if not is_empty_text(block)]
            if not blocks:
                continue
            if len(blocks) != len(message["content"]):
                message = {**message, "content": blocks}
        cleaned.append(message)
    return cleaned


def close_dangling_calls(history: list[Any]) -> list[Any]:
    """Answer every tool_use the next user message does not, so the API accepts the history."""
    return close_dangling(
        history,
        user_role="user",
        key="content",
        items=lambda message: content_blocks(message["content"]),
        calls=_tool_uses,
        missing=_missing_results,
    )


def _tool_uses(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message["content"]
    if message["role"] != "assistant" or isinstance(content, str):
        return []
    return [block for block in content if block.get("type") == "tool_use"]


def _missing_results(calls: list[dict[str, Any]], answer: list[dict[str, Any]]) -> list[Any]:
    answered = {block.get("tool_use_id") for block in answer if block.get("type") == "tool_result"}
    return [
        tool_result_block(block["id"], INTERRUPTED_RESULT, True)
        for block in calls
        if block["id"] not in answered
    ]


def usage_of(usage: dict[str, Any]) -> Usage:
    """Anthropic's usage JSON (also what the Claude Code CLI reports); cache reads count as
    input, as the other providers count them."""

    def count(source: dict[str, Any], name: str) -> int:
        value = source.get(name)
        return value if isinstance(value, int) else 0

    cached = count(usage, "cache_read_input_tokens")
    created = count(usage, "cache_creation_input_tokens")
    details = usage.get("output_tokens_details")
    return Usage(
        input_tokens=count(usage, "input_tokens") + cached + created,
        output_tokens=count(usage, "output_tokens"),
        cached_tokens=cached,
        reasoning_tokens=count(details, "thinking_tokens") if isinstance(details, dict) else 0,
    )
