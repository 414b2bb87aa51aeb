"""What each real API would reject in a request's conversation, checked on recorded requests.

These encode the APIs' documented rules for a conversation (tool results right after their
calls, no empty text blocks, alternating Gemini roles), so tests can prove that a history left
behind by a cancelled or failed turn is one the real service accepts.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.provider_server import Recorded


def problems(request: Recorded) -> list[str]:
    body = request.body
    if request.wire == "anthropic":
        return _anthropic(body["messages"])
    if request.wire == "openai":
        return _openai(body["messages"])
    return _gemini(body["contents"])


def _anthropic(messages: list[dict[str, Any]]) -> list[str]:
    found = []
    if messages and messages[0]["role"] != "user":
        found.append("the first message must be the user's")
    for index, message in enumerate(messages):
        blocks = message["content"]
        if isinstance(blocks, str):
            blocks = [{"type": "text", "text": blocks}]
        if not blocks:
            found.append(f"message {index} has no content")
        for block in blocks:
            if block["type"] == "text" and not block["text"].strip():
                found.append(f"message {index} has an empty text block")
        if message["role"] != "assistant":
            continue
        wanted = {block["id"] for block in blocks if block["type"] == "tool_use"}
        if not wanted:
            continue
        following = messages[index + 1] if index + 1 < len(messages) else None
        if following is None or following["role"] != "user":
            found.append(f"tool_use in message {index} is not followed by tool results")
            continue
        results = [block for block in following["content"] if isinstance(block, dict)]
        leading = []
        for block in results:
            if block["type"] != "tool_result":
                break
            leading.append(block["tool_use_id"])
        if set(leading) != wanted:
            found.append(f"message {index + 1} does not start with results for {sorted(wanted)}")
    return found


def _openai(messages: list[dict[str, Any]]) -> list[str]:
    found = []
    open_calls: set[str] = set()
    for index, message in enumerate(messages):
        role = message["role"]
        if role == "tool":
            if message["tool_call_id"] not in open_calls:
                found.append(f"tool message {index} answers no pending call")
            open_calls.discard(message["tool_call_id"])
            continue
        if open_calls:
            found.append(f"calls {sorted(open_calls)} unanswered before message {index}")
            open_calls = set()
        if role == "system" and index != 0:
            found.append("system message not first")
        if role == "assistant":
            open_calls = {call["id"] for call in message.get("tool_calls") or ()}
            if not open_calls and not message.get("content") and not message.get("refusal"):
                found.append(f"assistant message {index} is empty")
    if open_calls:
        found.append(f"calls {sorted(open_calls)} unanswered at the end")
    return found


def _gemini(contents: list[dict[str, Any]]) -> list[str]:
    found = []
    for index, content in enumerate(contents):
        if not content.get("parts"):
            found.append(f"content {index} has no parts")
        if index and content["role"] == contents[index - 1]["role"]:
            found.append(f"contents {index - 1} and {index} share a role")
        calls = [
            part["functionCall"]["name"] for part in content["parts"] if "functionCall" in part
        ]
        if not calls:
            continue
        following = contents[index + 1] if index + 1 < len(contents) else None
        answered = [
            part["functionResponse"]["name"]
            for part in (following or {}).get("parts", [])
            if "functionResponse" in part
        ]
        if sorted(answered) != sorted(calls):
            found.append(f"function calls in content {index} are not all answered next")
    return found
