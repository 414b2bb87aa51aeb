"""Rendering scripted replies and failures in each API's JSON and streaming formats."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.replies import Fail, Reply

Event = tuple[str | None, Any]
"""One SSE event: the ``event:`` name (Anthropic only) and its data."""


def is_text_delta(wire: str, data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    if wire == "anthropic":
        return data.get("type") == "content_block_delta" and data["delta"]["type"] == "text_delta"
    if wire == "openai":
        return any(choice["delta"].get("content") for choice in data.get("choices", []))
    parts = data.get("candidates", [{}])[0].get("content", {}).get("parts", [])
    return any("text" in part and not part.get("thought") for part in parts)


ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}
GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    503: "UNAVAILABLE",
}


def error_body(wire: str, fail: Fail) -> Any:
    if wire == "anthropic":
        kind = ERROR_TYPES.get(fail.status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": fail.message}}
    if wire == "openai":
        return {"error": {"message": fail.message, "type": "server_error", "code": None}}
    status = GOOGLE_STATUS.get(fail.status, "INTERNAL")
    return {"error": {"code": fail.status, "message": fail.message, "status": status}}


def error_headers(fail: Fail) -> dict[str, str]:
    headers = {"request-id": "req_failed", "x-request-id": "req_failed"}
    if fail.status == 429 or fail.status >= 500:
        headers["retry-after-ms"] = "5"  # the SDKs' retries then wait 5 ms, not seconds
    return {**headers, **fail.headers}


# --- Anthropic Messages -------------------------------------------------------------------


def _anthropic_blocks(reply: Reply) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "thinking", "thinking": thought.text, "signature": thought.signature}
        for thought in reply.thoughts
    ]
    blocks += [{"type": "redacted_thinking", "data": data} for data in reply.redacted]
    if reply.deltas():
        blocks.append({"type": "text", "text": "".join(reply.deltas())})
    blocks += [
        {
            "type": "tool_use",
            "id": call.id or f"toolu_{index}",
            "name": call.name,
            "input": call.arguments,
        }
        for index, call in enumerate(reply.calls)
    ]
    return blocks


def _anthropic_usage(reply: Reply) -> dict[str, int]:
    return {
        "input_tokens": reply.input_tokens,
        "output_tokens": reply.output_tokens,
        "cache_read_input_tokens": reply.cached_tokens,
    }


def _anthropic_stop(reply: Reply) -> str:
    return reply.stop or ("tool_use" if reply.calls else "end_turn")


def _anthropic_json(reply: Reply, ident: int, model: str) -> Any:
    return {
        "id": f"msg_{ident}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _anthropic_blocks(reply),
        "stop_reason": _anthropic_stop(reply),
        "stop_sequence": None,
        "usage": _anthropic_usage(reply),
    }


def _anthropic_stream(reply: Reply, ident: int, model: str, body: Any) -> list[Event]:
    start = {**_anthropic_json(reply, ident, model), "content": [], "stop_reason": None}
    start["usage"] = {**_anthropic_usage(reply), "output_tokens": 1}
    events: list[Event] = [("message_start", {"type": "message_start", "message": start})]
    index = 0

    def block(start_block: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
        nonlocal index
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": start_block},
            )
        )
        for delta in deltas:
            events.append(
                (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1

    for thought in reply.thoughts:
        block(
            {"type": "thinking", "thinking": "", "signature": ""},
            [
                {"type": "thinking_delta", "thinking": thought.text},
                {"type": "signature_delta", "signature": thought.signature},
            ],
        )
    for data in reply.redacted:
        block({"type": "redacted_thinking", "data": data}, [])
    if reply.deltas():
        block(
            {"type": "text", "text": ""},
            [{"type": "text_delta", "text": text} for text in reply.deltas()],
        )
    for number, call in enumerate(reply.calls):
        raw = json.dumps(call.arguments)
        middle = len(raw) // 2
        pieces = [raw[:middle], raw[middle:]] if raw != "{}" else []
        block(
            {
                "type": "tool_use",
                "id": call.id or f"toolu_{number}",
                "name": call.name,
                "input": {},
            },
            [{"type": "input_json_delta", "partial_json": piece} for piece in pieces],
        )
    events.append(("ping", {"type": "ping"}))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": _anthropic_stop(reply), "stop_sequence": None},
                "usage": {"output_tokens": reply.output_tokens},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


# --- OpenAI Chat Completions --------------------------------------------------------------


def _openai_usage(reply: Reply) -> dict[str, Any]:
    return {
        "prompt_tokens": reply.input_tokens,
        "completion_tokens": reply.output_tokens,
        "total_tokens": reply.input_tokens + reply.output_tokens,
        "prompt_tokens_details": {"cached_tokens": reply.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": reply.reasoning_tokens},
    }


def _openai_calls(reply: Reply) -> list[dict[str, Any]]:
    return [
        {
            "id": call.id or f"call_{index}",
            "type": "function",
            "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
        }
        for index, call in enumerate(reply.calls)
    ]


def _openai_finish(reply: Reply) -> str:
    return reply.stop or ("tool_calls" if reply.calls else "stop")


def _openai_json(reply: Reply, ident: int, model: str) -> Any:
    message: dict[str, Any] = {"role": "assistant", "content": "".join(reply.deltas()) or None}
    if reply.calls:
        message["tool_calls"] = _openai_calls(reply)
    return {
        "id": f"chatcmpl-{ident}",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": _openai_finish(reply)}],
        "usage": _openai_usage(reply),
    }


def _openai_stream(reply: Reply, ident: int, model: str, body: Any) -> list[Event]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> tuple[str | None, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return (
            None,
            {
                "id": f"chatcmpl-{ident}",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [choice],
            },
        )

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"reasoning_content": thought.text}) for thought in reply.thoughts]
    events += [chunk({"content": text}) for text in reply.deltas()]
    for index, call in enumerate(_openai_calls(reply)):
        raw = call["function"]["arguments"]
        head = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        events.append(chunk({"tool_calls": [head]}))
        middle = len(raw) // 2
        for piece in (raw[:middle], raw[middle:]):
            events.append(
                chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            )
    events.append(chunk({}, _openai_finish(reply)))
    if (body or {}).get("stream_options", {}).get("include_usage"):
        usage_chunk = {
            "id": f"chatcmpl-{ident}",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [],
            "usage": _openai_usage(reply),
        }
        events.append((None, usage_chunk))
    events.append((None, "[DONE]"))
    return events


# --- Gemini generateContent ---------------------------------------------------------------


def _gemini_parts(reply: Reply) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [
        {"text": thought.text, "thought": True, "thoughtSignature": thought.signature}
        for thought in reply.thoughts
    ]
    parts += [{"text": text} for text in reply.deltas()]
    for call in reply.calls:
        function_call: dict[str, Any] = {"name": call.name, "args": call.arguments}
        if call.id:
            function_call["id"] = call.id
        part: dict[str, Any] = {"functionCall": function_call}
        if call.signature:
            part["thoughtSignature"] = call.signature
        parts.append(part)
    return parts


def _gemini_usage(reply: Reply) -> dict[str, int]:
    return {
        "promptTokenCount": reply.input_tokens,
        "candidatesTokenCount": reply.output_tokens,
        "totalTokenCount": reply.input_tokens + reply.output_tokens + reply.reasoning_tokens,
        "cachedContentTokenCount": reply.cached_tokens,
        "thoughtsTokenCount": reply.reasoning_tokens,
    }


def _gemini_json(reply: Reply, ident: int, model: str) -> Any:
    candidate = {
        "content": {"role": "model", "parts": _gemini_parts(reply)},
        "finishReason": reply.stop or "STOP",
        "index": 0,
    }
    return {
        "candidates": [candidate],
        "usageMetadata": _gemini_usage(reply),
        "modelVersion": model,
        "responseId": f"resp-{ident}",
    }


def _gemini_stream(reply: Reply, ident: int, model: str, body: Any) -> list[Event]:
    parts = _gemini_parts(reply) or [{"text": ""}]
    events: list[Event] = []
    for number, part in enumerate(parts):
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [part]}, "index": 0}
        chunk: dict[str, Any] = {
            "candidates": [candidate],
            "modelVersion": model,
            "responseId": f"resp-{ident}",
        }
        if number == len(parts) - 1:
            candidate["finishReason"] = reply.stop or "STOP"
            chunk["usageMetadata"] = _gemini_usage(reply)
        events.append((None, chunk))
    return events


RENDER_JSON = {"anthropic": _anthropic_json, "openai": _openai_json, "gemini": _gemini_json}
RENDER_STREAM = {"anthropic": _anthropic_stream, "openai": _openai_stream, "gemini": _gemini_stream}
