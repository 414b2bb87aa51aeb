"""The ``openai`` and ``openai-compatible`` adapters: Chat Completions through the ``openai`` SDK.

Native history is the API's ``ChatCompletionMessageParam`` JSON, system message first, as the
reference's Go SDK writes it. Assistant turns keep the model's tool-call ``arguments`` string
exactly as streamed. ``openai-compatible`` is the same wire API at a configured ``base_url``
(Ollama, llama.cpp, vLLM, Groq, OpenRouter): model and base URL required, key optional.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from chatd.core.attachments import DOCUMENTS, IMAGES, Attachment
from chatd.core.events import TextDelta, ThinkingDelta, ToolCallRequested, ToolCallStarted
from chatd.core.providers.base import (
    Conversation,
    Emit,
    StepResult,
    ToolCall,
    ToolResult,
    TranscriptItem,
    Usage,
)
from chatd.core.providers.credentials import ApiKey
from chatd.core.providers.media_wire import (
    carried,
    media_warnings,
    openai_media,
    openai_parts,
    with_media,
)
from chatd.core.providers.remote import RemoteProvider
from chatd.core.providers.sdk_errors import connection_failure, scrub, translate_stainless
from chatd.core.providers.sse import DONE, sse_events
from chatd.core.providers.transcript import (
    INTERRUPTED_RESULT,
    parse_arguments,
    placeholders,
    require,
    result_text,
)
from chatd.errors import ProviderFailure, ProviderUnavailable

if TYPE_CHECKING:
    from openai import AsyncOpenAI

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}

KEY_PLACEHOLDER = "not-needed"
"""Sent by ``openai-compatible`` without a key: the SDK insists on one, local servers ignore it."""

REASONING_FIELDS = ("reasoning_content", "reasoning")
"""Where compatible servers (DeepSeek, vLLM, llama.cpp; OpenRouter, Ollama) stream reasoning.
It is shown as thinking but never stored: those APIs reject it in requests."""

ROLES = ("system", "developer", "user", "assistant", "tool")


class OpenAIProvider(RemoteProvider["AsyncOpenAI"]):
    kind: ClassVar[str] = "openai"
    default_model: ClassVar[str] = "gpt-5.4"
    default_max_tokens: ClassVar[int] = 4096
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"
    snapshot_names: ClassVar[tuple[str, ...]] = ("openai-compatible",)
    max_tokens_field: ClassVar[str] = "max_completion_tokens"
    """OpenAI's reasoning models refuse ``max_tokens``."""

    def start_history(self, system_prompt: str) -> list[Any]:
        return [{"role": "system", "content": system_prompt}] if system_prompt else []

    media_types: ClassVar[frozenset[str]] = IMAGES | DOCUMENTS

    def user_message(self, text: str, attachments: Sequence[Attachment] = ()) -> Any:
        content = openai_parts(text, attachments) if attachments else text
        return {"role": "user", "content": content}

    def assistant_message(self, text: str) -> Any:
        return {"role": "assistant", "content": text}

    async def _stream(self, conversation: Conversation, emit: Emit) -> StepResult:
        client = await self.client()
        reply = _Reply()
        with self.failures():
            request = client.chat.completions.with_streaming_response.create(
                **self._request(conversation)
            )
            async with request as response:
                async for _, chunk in sse_events(response.iter_bytes()):
                    if chunk == DONE:
                        break
                    if isinstance(chunk.get("error"), dict):
                        raise self._stream_error(chunk["error"])
                    reply.add(chunk, emit)
        return reply.finish(emit)

    def tool_result_messages(self, results: list[ToolResult]) -> list[Any]:
        return [
            _tool_message(result.call_id, result.content, result.is_error) for result in results
        ]

    def transcript(self, history: list[Any]) -> list[TranscriptItem]:
        items: list[TranscriptItem] = []
        names: dict[str, str] = {}
        for message in history:
            role, text, omitted = message["role"], _text(message.get("content")), _omitted(message)
            if role == "assistant":
                calls = tuple(
                    ToolCall(
                        call["id"],
                        call["function"]["name"],
                        parse_arguments(call["function"].get("arguments")),
                    )
                    for call in message.get("tool_calls") or ()
                )
                names.update((call.id, call.name) for call in calls)
                items.append(TranscriptItem("assistant", text, calls, omitted=omitted))
            elif role == "tool":
                call_id = message["tool_call_id"]
                result = ToolResult(call_id, names.get(call_id, ""), text)
                items.append(TranscriptItem("tool", tool_results=(result,), omitted=omitted))
            elif role == "user":
                media = openai_media(message.get("content"))
                items += with_media([TranscriptItem("user", text, omitted=omitted)], media)
        return items

    def from_transcript(
        self, items: list[TranscriptItem], system_prompt: str
    ) -> tuple[list[Any], list[str]]:
        history = self.start_history(system_prompt)
        for item in items:
            if item.role == "tool":
                history += self.tool_result_messages(list(item.tool_results))
            elif item.role == "assistant":
                message: dict[str, Any] = {"role": "assistant", "content": item.text or None}
                if item.tool_calls:
                    message["tool_calls"] = [
                        _call_json(call.id, call.name, json.dumps(call.arguments))
                        for call in item.tool_calls
                    ]
                history.append(message)
            else:
                media = carried(item.attachments, self.media_types)
                history.append(self.user_message(item.text, media))
        return _close_dangling(history), media_warnings(items, self.name, self.media_types)

    def validate_history(self, messages: list[Any]) -> list[Any]:
        for index, message in enumerate(super().validate_history(messages)):
            role = message.get("role")
            require(role in ROLES, self.name, index, f"unknown role {role!r}")
            content = message.get("content")
            require(
                content is None or isinstance(content, str | list), self.name, index, "bad content"
            )
            if role == "tool":
                require(
                    isinstance(message.get("tool_call_id"), str),
                    self.name,
                    index,
                    "tool message without tool_call_id",
                )
            for call in message.get("tool_calls") or ():
                function = call.get("function") if isinstance(call, dict) else None
                require(
                    isinstance(function, dict)
                    and isinstance(call.get("id"), str)
                    and isinstance(function.get("name"), str),
                    self.name,
                    index,
                    "tool call needs id and function.name",
                )
        return _close_dangling(messages)

    def _request(self, conversation: Conversation) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": conversation.model or self.model,
            "messages": conversation.history,
            self.max_tokens_field: self.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if conversation.tools:
            request["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters or {"type": "object", "properties": {}},
                    },
                }
                for tool in conversation.tools
            ]
        if conversation.answer is not None:  # chat/ask: for this request only
            answer = conversation.answer
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": answer.name, "schema": answer.wire_schema, "strict": True},
            }
        return request

    def _stream_error(self, error: dict[str, Any]) -> ProviderFailure:
        """An error object inside a 200 stream: the server gave up mid-answer."""
        detail = scrub(str(error.get("message", "")), self._key)
        return connection_failure(self.name, f"the stream failed: {detail}")

    def _build_client(self, key: ApiKey | None) -> AsyncOpenAI:
        from openai import AsyncOpenAI

        return AsyncOpenAI(
            api_key=key.reveal() if key else KEY_PLACEHOLDER,
            base_url=self.base_url,
            timeout=self.timeout_s,
            max_retries=self.max_retries,
        )

    async def _close_client(self, client: AsyncOpenAI) -> None:
        await client.close()

    def _translate(self, exc: Exception) -> ProviderFailure | None:
        import openai

        return translate_stainless(
            self.name,
            exc,
            openai,
            base_error=openai.OpenAIError,
            key=self._key,
            detail=_error_message,
        )


class OpenAICompatibleProvider(OpenAIProvider):
    kind: ClassVar[str] = "openai-compatible"
    default_model: ClassVar[str] = ""
    default_base_url: ClassVar[str] = ""
    snapshot_names: ClassVar[tuple[str, ...]] = ("openai",)
    key_required: ClassVar[bool] = False
    max_tokens_field: ClassVar[str] = "max_tokens"
    """What every compatible server understands; few know ``max_completion_tokens``."""

    def check_available(self) -> None:
        if not (self.settings.base_url and self.settings.model):
            raise ProviderUnavailable(
                f"{self.name}: an openai-compatible provider needs base_url and model "
                f"in [providers.{self.name}]",
                provider=self.name,
            )
        super().check_available()


@dataclass
class _Call:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class _Reply:
    """The streamed chunks (plain JSON) folded into one assistant message."""

    text: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    calls: dict[int, _Call] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)

    def add(self, chunk: dict[str, Any], emit: Emit) -> None:
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in (chunk.get("choices") or ())[:1]:
            delta = choice.get("delta") or {}
            self.finish_reason = choice.get("finish_reason") or self.finish_reason
            for name in REASONING_FIELDS:
                if isinstance(delta.get(name), str) and delta[name]:
                    emit(ThinkingDelta(delta[name]))
            if delta.get("content"):
                self.text.append(delta["content"])
                emit(TextDelta(delta["content"]))
            if delta.get("refusal"):
                self.refusal.append(delta["refusal"])
            for position, piece in enumerate(delta.get("tool_calls") or ()):
                self._call_piece(piece, position, emit)

    def _call_piece(self, piece: dict[str, Any], position: int, emit: Emit) -> None:
        index = piece.get("index", position)
        call = self.calls.setdefault(index, _Call())
        announce = not call.id and bool(piece.get("id"))
        call.id = call.id or piece.get("id") or ""
        function = piece.get("function") or {}
        call.name = call.name or function.get("name") or ""
        call.arguments.append(function.get("arguments") or "")
        if announce:
            emit(ToolCallStarted(call.id, call.name))

    def finish(self, emit: Emit) -> StepResult:
        calls = [self.calls[index] for index in sorted(self.calls)]
        tool_calls = tuple(
            ToolCall(call.id, call.name, parse_arguments("".join(call.arguments))) for call in calls
        )
        for call in tool_calls:
            emit(ToolCallRequested(call.id, call.name, call.arguments))
        text = "".join(self.text)
        message: dict[str, Any] = {"role": "assistant", "content": text or None}
        if self.refusal:
            message["refusal"] = "".join(self.refusal)
        if calls:
            message["tool_calls"] = [
                _call_json(call.id, call.name, "".join(call.arguments)) for call in calls
            ]
        keep = text or self.refusal or calls
        stop = "refusal" if self.refusal else STOP_REASONS.get(self.finish_reason or "", "end_turn")
        return StepResult([message] if keep else [], text, stop, _usage(self.usage), tool_calls)


def _usage(usage: dict[str, Any]) -> Usage:
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=usage.get("prompt_tokens") or 0,
        output_tokens=usage.get("completion_tokens") or 0,
        cached_tokens=prompt.get("cached_tokens") or 0,
        reasoning_tokens=completion.get("reasoning_tokens") or 0,
    )


def _error_message(error: Any) -> str | None:
    """OpenAI's status errors keep the API's ``error`` object as ``body``."""
    body = error.body
    message = body.get("message") if isinstance(body, dict) else None
    return str(message) if message else error.message


def _call_json(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _tool_message(call_id: str, content: str, is_error: bool) -> dict[str, Any]:
    """Chat Completions has no error flag on tool results, so an error says so in its text."""
    return {
        "role": "tool",
        "tool_call_id": call_id,
        "content": f"Error: {content}" if is_error else content,
    }


def _text(content: Any) -> str:
    return "" if content is None else result_text(content)


def _omitted(message: dict[str, Any]) -> tuple[str, ...]:
    """What the neutral transcript leaves out of ``message``, for the conversion warnings."""
    reasoning = any(message.get(name) for name in REASONING_FIELDS)
    return (
        placeholders(message.get("content"))
        + (("refusal",) if message.get("refusal") else ())
        + (("reasoning text",) if reasoning else ())
    )


def _close_dangling(history: list[Any]) -> list[Any]:
    """Give every tool call a ``tool`` message right after its assistant message."""
    repaired = list(history)
    index = 0
    while index < len(repaired):
        message = repaired[index]
        index += 1
        wanted = (
            [call["id"] for call in message.get("tool_calls") or ()]
            if message["role"] == "assistant"
            else []
        )
        if not wanted:
            continue
        answered = set()
        while index < len(repaired) and repaired[index]["role"] == "tool":
            answered.add(repaired[index]["tool_call_id"])
            index += 1
        missing = [
            _tool_message(call_id, INTERRUPTED_RESULT, True)
            for call_id in wanted
            if call_id not in answered
        ]
        repaired[index:index] = missing
        index += len(missing)
    return repaired
