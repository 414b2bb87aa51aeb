"""``session/update`` payloads: live turn events, and the replay of a saved conversation.

Both are plain dicts or wire lines, never pydantic models: a 1,000-message replay through
models would cost many times the snapshot's own decoding. The tests check every shape
against the ACP SDK's ``SessionNotification`` model instead.
"""

from __future__ import annotations

from typing import Any

from chatd.acp.framing import text_lines, update_line
from chatd.acp.prompt import MEDIA_BLOCKS
from chatd.core.attachments import MediaInfo
from chatd.core.events import (
    TextDelta,
    ThinkingDelta,
    ToolCallRequested,
    ToolCallStarted,
    ToolResultReady,
    TurnEvent,
)
from chatd.core.providers.base import TranscriptItem

TOOL_KINDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("delete", "remove", "unlink"), "delete"),
    (("move", "rename"), "move"),
    (("write", "edit", "patch", "replace", "create"), "edit"),
    (("search", "grep", "find", "glob"), "search"),
    (("read", "get", "view", "cat", "list", "open"), "read"),
    (("fetch", "http", "web", "url", "download", "browse"), "fetch"),
    (("run", "exec", "shell", "bash", "command", "terminal"), "execute"),
    (("think", "plan"), "think"),
)
"""ACP's tool kinds by words in the tool's name, first match wins; anything else is other."""


def tool_kind(name: str) -> str:
    lowered = name.lower()
    for words, kind in TOOL_KINDS:
        if any(word in lowered for word in words):
            return kind
    return "other"


def _text(kind: str, text: str) -> dict[str, Any]:
    return {"sessionUpdate": kind, "content": {"type": "text", "text": text}}


def tool_call(call_id: str, name: str, arguments: dict[str, Any] | None) -> dict[str, Any]:
    update: dict[str, Any] = {
        "sessionUpdate": "tool_call",
        "toolCallId": call_id,
        "title": name,
        "kind": tool_kind(name),
        "status": "pending",
    }
    if arguments is not None:
        update["rawInput"] = arguments
    return update


def tool_running(call_id: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "sessionUpdate": "tool_call_update",
        "toolCallId": call_id,
        "status": "in_progress",
        "rawInput": arguments,
    }


def tool_finished(call_id: str, content: str, is_error: bool) -> dict[str, Any]:
    return {
        "sessionUpdate": "tool_call_update",
        "toolCallId": call_id,
        "status": "failed" if is_error else "completed",
        "content": [{"type": "content", "content": {"type": "text", "text": content}}],
        "rawOutput": {"content": content, "isError": is_error},
    }


class LiveUpdates:
    """Turn events of one session as ACP updates; remembers which tool calls were announced."""

    def __init__(self) -> None:
        self._announced: set[str] = set()

    def of(self, event: TurnEvent) -> list[dict[str, Any]]:
        match event:
            case TextDelta(text=text):
                return [_text("agent_message_chunk", text)]
            case ThinkingDelta(text=text):
                return [_text("agent_thought_chunk", text)]
            case ToolCallStarted(call_id=call_id, name=name):
                self._announced.add(call_id)
                return [tool_call(call_id, name, None)]
            case ToolCallRequested(call_id=call_id, name=name, arguments=arguments):
                if call_id in self._announced:
                    return [tool_running(call_id, arguments)]
                self._announced.add(call_id)
                return [tool_call(call_id, name, arguments), tool_running(call_id, arguments)]
            case ToolResultReady(call_id=call_id, content=content, is_error=is_error):
                self._announced.discard(call_id)
                return [tool_finished(call_id, content, is_error)]
        return []


def attachment_chunk(media: MediaInfo) -> dict[str, Any]:
    """An attachment of the user's as it was sent: an image or audio block; any other type
    (a PDF, a video) as a line naming it, since ACP has no block for it without a URI."""
    family = media.mime_type.split("/")[0]
    if media.data and family in MEDIA_BLOCKS:
        content = {"type": family, "data": media.data, "mimeType": media.mime_type}
    else:
        label = ", ".join(filter(None, [media.name, media.mime_type, f"{media.size} bytes"]))
        content = {"type": "text", "text": f"[attachment: {label}]"}
    return {"sessionUpdate": "user_message_chunk", "content": content}


def replay_lines(session_id: str, items: list[TranscriptItem]) -> list[bytes]:
    """The whole conversation as the client would have seen it live, tool calls finished:
    user chunks (attachments included), thought and agent chunks, each tool call and its
    final update, as wire lines (written one by one: the writer joins them once, with the
    answer, for one syscall)."""
    text = text_lines(session_id).line
    lines: list[bytes] = []
    for item in items:
        if item.role == "user" and item.text:
            lines.append(text("user_message_chunk", item.text))
        for media in item.attachments:
            lines.append(update_line(session_id, attachment_chunk(media)))
        if item.thinking:
            lines.append(text("agent_thought_chunk", item.thinking))
        if item.role == "assistant" and item.text:
            lines.append(text("agent_message_chunk", item.text))
        for call in item.tool_calls:
            lines.append(update_line(session_id, tool_call(call.id, call.name, call.arguments)))
        for result in item.tool_results:
            finished = tool_finished(result.call_id, result.content, result.is_error)
            lines.append(update_line(session_id, finished))
    return lines
