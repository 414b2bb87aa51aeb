"""The ``claude`` adapter: Anthropic's Messages API through the ``anthropic`` SDK, streamed.

Native history is the API's ``MessageParam`` JSON (``role`` + ``content`` blocks), exactly as
the reference's Go SDK writes it, so its snapshots continue here. An assistant turn is the
content blocks exactly as the stream delivered them (nulls dropped): ``thinking`` blocks keep
their ``signature`` and ``redacted_thinking`` its ``data`` byte for byte, as the API requires
on replay. The system prompt travels in the top-level ``system`` field, never as a user turn.
The SDK sends the request (auth, retries, status errors); chatd folds the SSE events itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from chatd.core.answers import ANSWER_TOOL_DESCRIPTION
from chatd.core.attachments import DOCUMENTS, IMAGES, Attachment
from chatd.core.events import TextDelta, ThinkingDelta, ToolCallRequested, ToolCallStarted
from chatd.core.providers.base import (
    Conversation,
    Emit,
    StepResult,
    ToolCall,
    ToolResult,
    TranscriptItem,
)
from chatd.core.providers.claude_history import (
    checked_history,
    close_dangling_calls,
    content_blocks,
    is_empty_text,
    omitted_parts,
    plain_text,
    safe_id,
    tool_result_block,
    usage_of,
    visible_text,
)
from chatd.core.providers.credentials import ApiKey
from chatd.core.providers.media_wire import (
    carried,
    claude_blocks,
    claude_media,
    media_warnings,
    with_media,
)
from chatd.core.providers.remote import RemoteProvider
from chatd.core.providers.sdk_errors import status_failure, translate_stainless
from chatd.core.providers.sse import sse_events
from chatd.core.providers.transcript import result_text, user_side
from chatd.errors import ProviderFailure

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

STOP_REASONS = {
    "end_turn": "end_turn",
    "pause_turn": "end_turn",
    "max_tokens": "max_tokens",
    "model_context_window_exceeded": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
    "refusal": "refusal",
}

ERROR_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}
"""A mid-stream ``event: error`` arrives on an HTTP 200; its type says what really failed."""


class ClaudeProvider(RemoteProvider["AsyncAnthropic"]):
    kind: ClassVar[str] = "claude"
    default_model: ClassVar[str] = "claude-opus-4-8"
    default_max_tokens: ClassVar[int] = 8192
    default_base_url: ClassVar[str] = "https://api.anthropic.com"

    media_types: ClassVar[frozenset[str]] = IMAGES | DOCUMENTS

    def user_message(self, text: str, attachments: Sequence[Attachment] = ()) -> Any:
        blocks = [{"type": "text", "text": text}] if text.strip() or not attachments else []
        return {"role": "user", "content": blocks + claude_blocks(attachments)}

    def assistant_message(self, text: str) -> Any:
        return {"role": "assistant", "content": [{"type": "text", "text": text}]}

    async def _stream(self, conversation: Conversation, emit: Emit) -> StepResult:
        client = await self.client()
        message = _Message(emit)
        with self.failures():
            request = client.messages.with_streaming_response.create(
                **self._request(conversation), stream=True
            )
            async with request as response:
                async for event, data in sse_events(response.iter_bytes()):
                    if event == "error":
                        raise self._stream_error(data, response.headers.get("request-id"))
                    message.add(event, data)
        return message.result()

    def tool_result_messages(self, results: list[ToolResult]) -> list[Any]:
        blocks = [tool_result_block(r.call_id, r.content, r.is_error) for r in results]
        return [{"role": "user", "content": blocks}] if blocks else []

    def transcript(self, history: list[Any]) -> list[TranscriptItem]:
        items: list[TranscriptItem] = []
        names: dict[str, str] = {}
        for message in history:
            if (text := plain_text(message["content"])) is not None:  # most turns: one cheap item
                if text or message["role"] == "assistant":
                    items.append(TranscriptItem(message["role"], text))
                continue
            blocks = content_blocks(message["content"])
            text = "".join(visible_text(block) for block in blocks)
            omitted = tuple(part for block in blocks for part in omitted_parts(block))
            if message["role"] == "assistant":
                calls = tuple(
                    ToolCall(block["id"], block["name"], dict(block.get("input") or {}))
                    for block in blocks
                    if block.get("type") == "tool_use"
                )
                names.update((call.id, call.name) for call in calls)
                thinking = "".join(
                    b.get("thinking", "") for b in blocks if b.get("type") == "thinking"
                )
                items.append(
                    TranscriptItem("assistant", text, calls, omitted=omitted, thinking=thinking)
                )
                continue
            results = tuple(
                ToolResult(
                    block["tool_use_id"],
                    names.get(block["tool_use_id"], ""),
                    result_text(block.get("content", "")),
                    bool(block.get("is_error")),
                )
                for block in blocks
                if block.get("type") == "tool_result"
            )
            items += with_media(user_side(results, text, omitted), claude_media(blocks))
        return items

    def from_transcript(
        self, items: list[TranscriptItem], system_prompt: str
    ) -> tuple[list[Any], list[str]]:
        history: list[Any] = []
        for item in items:
            if item.role == "tool":
                blocks = [
                    tool_result_block(safe_id(result.call_id), result.content, result.is_error)
                    for result in item.tool_results
                ]
                history.append({"role": "user", "content": blocks})
            elif item.role == "assistant":
                blocks = [{"type": "text", "text": item.text}] if item.text.strip() else []
                blocks += [
                    {
                        "type": "tool_use",
                        "id": safe_id(call.id),
                        "name": call.name,
                        "input": call.arguments,
                    }
                    for call in item.tool_calls
                ]
                if blocks:
                    history.append({"role": "assistant", "content": blocks})
            elif media := carried(item.attachments, self.media_types):
                history.append(self.user_message(item.text, media))
            elif item.text.strip():
                history.append(self.user_message(item.text))
        warnings = media_warnings(items, self.name, self.media_types)
        return close_dangling_calls(history), warnings

    def validate_history(self, messages: list[Any]) -> list[Any]:
        return checked_history(super().validate_history(messages), self.name)

    def _request(self, conversation: Conversation) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": conversation.model or self.model,
            "max_tokens": self.max_tokens,
            "messages": conversation.history,
        }
        if conversation.system_prompt:
            request["system"] = conversation.system_prompt
        if conversation.tools:
            request["tools"] = [
                {
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": tool.parameters or {"type": "object", "properties": {}},
                }
                for tool in conversation.tools
            ]
        if conversation.answer is not None:  # chat/ask: the answer is this tool's input
            answer = conversation.answer
            request["tools"] = [
                {
                    "name": answer.name,
                    "description": ANSWER_TOOL_DESCRIPTION,
                    "input_schema": answer.wire_schema,
                }
            ]
            request["tool_choice"] = {"type": "tool", "name": answer.name}
        elif self.settings.thinking_budget:  # the API refuses thinking with a forced tool
            budget = self.settings.thinking_budget
            request["thinking"] = {"type": "enabled", "budget_tokens": budget}
            request["max_tokens"] += budget  # max_tokens counts thinking; keep room to answer
        return request

    def _stream_error(self, data: Any, request_id: str | None) -> ProviderFailure:
        error = data.get("error") if isinstance(data, dict) else None
        error = error if isinstance(error, dict) else {}
        status = ERROR_TYPE_STATUS.get(str(error.get("type")), 500)
        return status_failure(
            self.name, status, error.get("message"), key=self._key, request_id=request_id
        )

    def _build_client(self, key: ApiKey | None) -> AsyncAnthropic:
        from anthropic import AsyncAnthropic

        assert key is not None  # key_required
        return AsyncAnthropic(
            api_key=key.reveal(),
            base_url=self.base_url,
            timeout=self.timeout_s,
            max_retries=self.max_retries,
            open_telemetry=False,  # spans could carry prompts; chatd does its own logging
        )

    async def _close_client(self, client: AsyncAnthropic) -> None:
        await client.close()

    def _translate(self, exc: Exception) -> ProviderFailure | None:
        import anthropic

        return translate_stainless(
            self.name,
            exc,
            anthropic,
            base_error=anthropic.AnthropicError,
            key=self._key,
            detail=lambda error: error.api_message or error.message,
        )


@dataclass
class _Message:
    """The stream's events folded into the assistant message, as the API's own JSON."""

    emit: Emit
    blocks: dict[int, dict[str, Any]] = field(default_factory=dict)
    partial_json: dict[int, list[str]] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)
    stop_reason: str | None = None

    def add(self, event: str, data: Any) -> None:
        if event == "content_block_delta":
            self._delta(self.blocks[data["index"]], data["index"], data["delta"])
        elif event == "content_block_start":
            block = {
                key: value for key, value in data["content_block"].items() if value is not None
            }
            self.blocks[data["index"]] = block
            if block["type"] == "tool_use":
                self.emit(ToolCallStarted(block["id"], block["name"]))
        elif event == "content_block_stop":
            self._stop(data["index"])
        elif event == "message_start":
            self.usage = dict(data["message"].get("usage") or {})
        elif event == "message_delta":
            self.stop_reason = (data.get("delta") or {}).get("stop_reason") or self.stop_reason
            usage = data.get("usage") or {}
            self.usage.update((key, value) for key, value in usage.items() if value is not None)

    def _delta(self, block: dict[str, Any], index: int, delta: dict[str, Any]) -> None:
        kind = delta["type"]
        if kind == "text_delta":
            block["text"] = block.get("text", "") + delta["text"]
            self.emit(TextDelta(delta["text"]))
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + delta["thinking"]
            self.emit(ThinkingDelta(delta["thinking"]))
        elif kind == "signature_delta":
            block["signature"] = delta["signature"]
        elif kind == "input_json_delta":
            self.partial_json.setdefault(index, []).append(delta["partial_json"])
        elif kind == "citations_delta":
            block.setdefault("citations", []).append(delta["citation"])

    def _stop(self, index: int) -> None:
        block = self.blocks[index]
        if block["type"] != "tool_use":
            return
        raw = "".join(self.partial_json.pop(index, ()))
        if raw:
            block["input"] = json.loads(raw)  # malformed: a JSONDecodeError, mapped as such
        block.setdefault("input", {})
        self.emit(ToolCallRequested(block["id"], block["name"], _arguments(block["input"])))

    def result(self) -> StepResult:
        blocks = [self.blocks[index] for index in sorted(self.blocks)]
        kept = [block for block in blocks if not is_empty_text(block)]
        calls = tuple(
            ToolCall(block["id"], block["name"], _arguments(block.get("input")))
            for block in blocks
            if block["type"] == "tool_use"
        )
        text = "".join(block.get("text", "") for block in blocks if block["type"] == "text")
        return StepResult(
            messages=[{"role": "assistant", "content": kept}] if kept else [],
            text=text,
            stop_reason=STOP_REASONS.get(self.stop_reason or "", "end_turn"),
            usage=usage_of(self.usage),
            tool_calls=calls,
        )


def _arguments(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}
