"""Reading recorded requests without caring which wire format they are in."""

from __future__ import annotations

import base64
from typing import Any

from tests.fakes.provider_server import Recorded


def system_prompt(request: Recorded) -> str | None:
    body = request.body
    if request.wire == "anthropic":
        return body.get("system")
    if request.wire == "openai":
        first = body["messages"][0]
        return first["content"] if first["role"] == "system" else None
    instruction = body.get("systemInstruction")
    return instruction["parts"][0]["text"] if instruction else None


def turns(request: Recorded) -> list[tuple[str, str]]:
    """(role, text) of every message with text, roles as user/assistant."""
    body = request.body
    found = []
    if request.wire == "anthropic":
        for message in body["messages"]:
            content = message["content"]
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
            text = "".join(block["text"] for block in blocks if block["type"] == "text")
            if text:
                found.append((message["role"], text))
    elif request.wire == "openai":
        for message in body["messages"]:
            if message["role"] in ("user", "assistant") and message.get("content"):
                found.append((message["role"], message["content"]))
    else:
        for content in body["contents"]:
            text = "".join(
                part["text"]
                for part in content["parts"]
                if "text" in part and not part.get("thought")
            )
            if text:
                found.append(("assistant" if content["role"] == "model" else "user", text))
    return found


def tool_results(request: Recorded) -> list[tuple[str, str, bool]]:
    """(name or id, text, is_error) of every tool result in the request, in order."""
    body = request.body
    found = []
    if request.wire == "anthropic":
        for message in body["messages"]:
            for block in message["content"] if isinstance(message["content"], list) else ():
                if block["type"] == "tool_result":
                    found.append(
                        (block["tool_use_id"], block["content"], bool(block.get("is_error")))
                    )
    elif request.wire == "openai":
        for message in body["messages"]:
            if message["role"] == "tool":
                content = message["content"]
                found.append((message["tool_call_id"], content, content.startswith("Error: ")))
    else:
        for content in body["contents"]:
            for part in content["parts"]:
                if "functionResponse" in part:
                    response = part["functionResponse"]
                    payload = response["response"]
                    is_error = "error" in payload
                    text = payload["error"] if is_error else payload["output"]
                    found.append((response.get("id") or response["name"], text, is_error))
    return found


def signatures(request: Recorded) -> list[bytes | str]:
    """Every thinking signature (Anthropic: text; Gemini: the decoded bytes) in order."""
    body = request.body
    if request.wire == "anthropic":
        found: list[bytes | str] = []
        for message in body["messages"]:
            for block in message["content"] if isinstance(message["content"], list) else ():
                if block["type"] == "thinking":
                    found.append(block["signature"])
                elif block["type"] == "redacted_thinking":
                    found.append(block["data"])
        return found
    return [
        _b64(part["thoughtSignature"])
        for content in body["contents"]
        for part in content["parts"]
        if "thoughtSignature" in part
    ]


def _b64(text: str) -> bytes:
    """Gemini's JSON bytes: standard or URL-safe base64, padded or not."""
    normal = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(normal + "=" * (-len(normal) % 4))


def model_of(request: Recorded) -> str:
    if request.wire == "gemini":
        return request.path.rsplit("/", 1)[-1].split(":")[0]
    return str(request.body["model"])


def max_tokens_of(request: Recorded) -> Any:
    body = request.body
    if request.wire == "gemini":
        return body["generationConfig"]["maxOutputTokens"]
    return body.get("max_tokens") or body.get("max_completion_tokens")


def auth_of(request: Recorded) -> str | None:
    headers = request.headers
    if request.wire == "gemini":
        return headers.get("x-goog-api-key")
    value = headers.get("authorization", "")
    return value.removeprefix("Bearer ") or None
