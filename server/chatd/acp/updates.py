"""``session/update`` payloads: live turn events, and the replay of a saved conversation.

Both are plain dicts written straight to the wire: a 1,000-message replay through pydantic
models would cost several times the snapshot's own decoding. The tests check every shape
against the ACP SDK's ``SessionNotification`` model instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chatd.core.events import (
    TextDelta,
    ThinkingDelta,
    ToolCallRequested,
    ToolCallStarted,
    ToolResultReady,
    TurnEvent,
)
from chatd.core.providers.base import ToolCall, ToolResult, TranscriptItem

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


def replay(items: list[TranscriptItem]) -> Iterator[dict[str, Any]]:
    """The whole conversation as a client would have seen it live, tool calls finished."""
    for item in items:
        if item.role == "user" and item.text:
            yield _text("user_message_chunk", item.text)
        if item.thinking:
            yield _text("agent_thought_chunk", item.thinking)
        if item.role == "assistant" and item.text:
            yield _text("agent_message_chunk", item.text)
        yield from _replayed_calls(item.tool_calls)
        yield from _replayed_results(item.tool_results)


def _replayed_calls(calls: tuple[ToolCall, ...]) -> Iterator[dict[str, Any]]:
    for call in calls:
        yield tool_call(call.id, call.name, call.arguments)


def _replayed_results(results: tuple[ToolResult, ...]) -> Iterator[dict[str, Any]]:
    for result in results:
        yield tool_finished(result.call_id, result.content, result.is_error)
