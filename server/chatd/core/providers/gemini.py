"""The ``gemini`` adapter: the Gemini API's generateContent through ``google-genai``, streamed.

Native history is the API's ``Content`` JSON in camelCase, as the REST API and the reference's
Go SDK write it (snake_case from the Python SDK is accepted and normalised on restore). Every
part keeps its ``thoughtSignature``, which Gemini requires back on replay; streamed text is
merged only between parts that carry no signature. Bytes are written as standard base64, as
the REST API sends them. Automatic function calling is off: chatd runs the tools. The SDK is
always given an ``httpx2`` client, so an installed ``aiohttp`` never changes the transport.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from chatd.core.attachments import ALLOWED, Attachment
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
from chatd.core.providers.gemini_history import (
    SYNTHETIC_ID_PREFIX,
    alternating,
    close_dangling,
    content_json,
    jsonable,
    omitted_parts,
    response_part,
    transcript_result,
    visible_text,
)
from chatd.core.providers.media_wire import (
    carried,
    gemini_media,
    gemini_parts,
    media_warnings,
    with_media,
)
from chatd.core.providers.remote import (
    RETRY_INITIAL_DELAY_S,
    RETRY_MAX_DELAY_S,
    RemoteProvider,
)
from chatd.core.providers.sdk_errors import malformed_failure, status_failure, translate_transport
from chatd.core.providers.transcript import corrupt, require, user_side
from chatd.errors import ProviderFailure

if TYPE_CHECKING:
    import httpx2
    from google import genai
    from google.genai import types

API_VERSION = "v1beta"
"""The version Google documents tools, thinking and systemInstruction against."""

RETRY_JITTER_S = 0.25
"""Spreads simultaneous retries; the other SDKs jitter by up to a quarter of the delay too."""

REFUSALS = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"}
)
STOP_REASONS = {"STOP": "end_turn", "MAX_TOKENS": "max_tokens"}


@dataclass(frozen=True, slots=True)
class _Clients:
    genai: genai.Client
    http: httpx2.AsyncClient


class GeminiProvider(RemoteProvider[_Clients]):
    kind: ClassVar[str] = "gemini"
    default_model: ClassVar[str] = "gemini-3.5-flash"
    default_max_tokens: ClassVar[int] = 8192
    default_base_url: ClassVar[str] = "https://generativelanguage.googleapis.com"

    media_types: ClassVar[frozenset[str]] = ALLOWED

    def user_message(self, text: str, attachments: Sequence[Attachment] = ()) -> Any:
        parts = [{"text": text}] if text or not attachments else []
        return {"role": "user", "parts": parts + gemini_parts(attachments)}

    def assistant_message(self, text: str) -> Any:
        return {"role": "model", "parts": [{"text": text}]}

    async def _stream(self, conversation: Conversation, emit: Emit) -> StepResult:
        clients = await self.client()  # first: it imports the SDK off the event loop
        from google.genai import types

        contents = [
            types.Content.model_validate(content) for content in alternating(conversation.history)
        ]
        reply = _Reply()
        with self.failures():
            stream = await clients.genai.aio.models.generate_content_stream(
                model=conversation.model or self.model,
                contents=contents,
                config=self._config(conversation),
            )
            async for chunk in stream:  # cancelling unwinds the generator, closing the response
                reply.add(chunk, emit)
        return reply.finish()

    def tool_result_messages(self, results: list[ToolResult]) -> list[Any]:
        parts = [
            response_part(result.call_id, result.name, result.content, result.is_error)
            for result in results
        ]
        return [{"role": "user", "parts": parts}] if parts else []

    def transcript(self, history: list[Any]) -> list[TranscriptItem]:
        items: list[TranscriptItem] = []
        pending: list[ToolCall] = []
        for number, content in enumerate(history):
            parts = content.get("parts") or []
            text = "".join(visible_text(part) for part in parts)
            omitted = tuple(name for part in parts for name in omitted_parts(part))
            if content.get("role") == "model":
                pending = [
                    ToolCall(
                        call.get("id") or f"{SYNTHETIC_ID_PREFIX}{number}-{index}",
                        call["name"],
                        dict(call.get("args") or {}),
                    )
                    for index, call in enumerate(
                        part["functionCall"] for part in parts if "functionCall" in part
                    )
                ]
                thinking = "".join(p.get("text", "") for p in parts if p.get("thought"))
                items.append(
                    TranscriptItem(
                        "assistant", text, tuple(pending), omitted=omitted, thinking=thinking
                    )
                )
                continue
            results = [
                transcript_result(part["functionResponse"], pending)
                for part in parts
                if "functionResponse" in part
            ]
            items += with_media(user_side(results, text, omitted), gemini_media(parts))
        return items

    def from_transcript(
        self, items: list[TranscriptItem], system_prompt: str
    ) -> tuple[list[Any], list[str]]:
        history: list[Any] = []
        names: dict[str, str] = {}
        for item in items:
            if item.role == "assistant":
                parts: list[dict[str, Any]] = [{"text": item.text}] if item.text else []
                parts += [
                    {"functionCall": {"name": call.name, "args": call.arguments}}
                    for call in item.tool_calls
                ]
                names.update((call.id, call.name) for call in item.tool_calls)
                content = {"role": "model", "parts": parts}
            elif item.role == "tool":
                parts = [
                    response_part(
                        SYNTHETIC_ID_PREFIX,
                        result.name or names.get(result.call_id, ""),
                        result.content,
                        result.is_error,
                    )
                    for result in item.tool_results
                ]
                content = {"role": "user", "parts": parts}
            else:
                content = self.user_message(item.text, carried(item.attachments, self.media_types))
            if content["parts"]:
                history.append(content)
        warnings = media_warnings(items, self.name, self.media_types)
        return close_dangling(alternating(history)), warnings

    def validate_history(self, messages: list[Any]) -> list[Any]:
        from google.genai import types
        from pydantic import ValidationError

        normalised = []
        for index, message in enumerate(super().validate_history(messages)):
            require(
                message.get("role") in ("user", "model"),
                self.name,
                index,
                "role must be user or model",
            )
            require(
                isinstance(message.get("parts"), list), self.name, index, "parts must be a list"
            )
            try:
                content = types.Content.model_validate(message)
            except ValidationError:
                raise corrupt(self.name, index, "not a Gemini Content") from None
            normalised.append(content_json(content))
        return close_dangling(normalised)

    def _config(self, conversation: Conversation) -> types.GenerateContentConfig:
        from google.genai import types

        declarations = [
            types.FunctionDeclaration(
                name=tool.name,
                description=tool.description,
                parameters_json_schema=tool.parameters,
            )
            for tool in conversation.tools
        ]
        thinking = None
        if self.settings.thinking_budget:
            thinking = types.ThinkingConfig(
                thinking_budget=self.settings.thinking_budget, include_thoughts=True
            )
        answer = conversation.answer
        return types.GenerateContentConfig(
            response_mime_type="application/json" if answer else None,
            response_json_schema=answer.wire_schema if answer else None,
            system_instruction=conversation.system_prompt or None,
            max_output_tokens=self.max_tokens,
            tools=[types.Tool(function_declarations=declarations)] if declarations else None,
            thinking_config=thinking,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        )

    def _build_client(self, key: ApiKey | None) -> _Clients:
        import httpx2
        from google import genai
        from google.genai import types

        assert key is not None  # key_required
        http = httpx2.AsyncClient(timeout=self.timeout_s)
        options = types.HttpOptions(
            base_url=self.base_url,
            api_version=API_VERSION,
            timeout=int(self.timeout_s * 1000),
            retry_options=types.HttpRetryOptions(
                attempts=self.max_retries + 1,
                initial_delay=RETRY_INITIAL_DELAY_S,
                max_delay=RETRY_MAX_DELAY_S,
                jitter=RETRY_JITTER_S,
            ),
            httpx_async_client=http,
        )
        return _Clients(
            genai.Client(api_key=key.reveal(), vertexai=False, http_options=options), http
        )

    async def _close_client(self, client: _Clients) -> None:
        await client.genai.aio.aclose()
        client.genai.close()
        await client.http.aclose()

    def _translate(self, exc: Exception) -> ProviderFailure | None:
        from google.genai import errors

        if isinstance(exc, errors.APIError):
            return status_failure(
                self.name, exc.code or 500, exc.message or exc.status, key=self._key
            )
        if isinstance(exc, errors.UnknownApiResponseError):
            return malformed_failure(self.name, "the response was not JSON")
        if isinstance(
            exc,
            errors.UnknownFunctionCallArgumentError
            | errors.UnsupportedFunctionError
            | errors.FunctionInvocationError
            | errors.ContinuationInterruptedError,
        ):
            return malformed_failure(self.name, type(exc).__name__)
        return translate_transport(self.name, exc)


@dataclass
class _Reply:
    """The streamed chunks folded into one model Content."""

    parts: list[dict[str, Any]] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    finish_reason: str = ""
    usage: types.GenerateContentResponseUsageMetadata | None = None
    blocked: bool = False

    def add(self, chunk: types.GenerateContentResponse, emit: Emit) -> None:
        if chunk.usage_metadata is not None:
            self.usage = chunk.usage_metadata  # cumulative: the last one counts, never a sum
        if chunk.prompt_feedback is not None and chunk.prompt_feedback.block_reason:
            self.blocked = True
        for candidate in (chunk.candidates or [])[:1]:
            if candidate.finish_reason:
                self.finish_reason = _name(candidate.finish_reason)
            for part in (candidate.content.parts if candidate.content else None) or []:
                self._add_part(part, emit)

    def _add_part(self, part: types.Part, emit: Emit) -> None:
        data = _part_json(part)
        if part.function_call is not None:
            call = part.function_call
            call_id = call.id or f"{SYNTHETIC_ID_PREFIX}{len(self.calls)}"
            tool_call = ToolCall(call_id, call.name or "", dict(call.args or {}))
            self.calls.append(tool_call)
            emit(ToolCallStarted(tool_call.id, tool_call.name))
            emit(ToolCallRequested(tool_call.id, tool_call.name, tool_call.arguments))
        elif part.text is not None:
            if part.text:
                emit(ThinkingDelta(part.text) if part.thought else TextDelta(part.text))
            if not part.thought:
                self.text.append(part.text)
            last = self.parts[-1] if self.parts else None
            if last is not None and _mergeable(last, data):
                last["text"] += data["text"]
                return
        self.parts.append(data)

    def finish(self) -> StepResult:
        parts = [part for part in self.parts if part != {"text": ""}]
        if self.blocked or self.finish_reason in REFUSALS:
            stop = "refusal"
        else:
            stop = STOP_REASONS.get(self.finish_reason, "end_turn")
        if self.calls:
            stop = "tool_use"
        messages = [{"role": "model", "parts": parts}] if parts else []
        return StepResult(messages, "".join(self.text), stop, _usage(self.usage), tuple(self.calls))


TEXT_FIELDS = frozenset({"text", "thought", "thought_signature"})


def _part_json(part: types.Part) -> dict[str, Any]:
    """The part as REST JSON; plain text parts (nearly every delta) skip pydantic's dump."""
    if part.model_fields_set <= TEXT_FIELDS and part.text is not None:
        data: dict[str, Any] = {"text": part.text}
        if part.thought:
            data["thought"] = True
        if part.thought_signature is not None:
            data["thoughtSignature"] = jsonable(part.thought_signature)
        return data
    dumped: dict[str, Any] = jsonable(
        part.model_dump(mode="python", by_alias=True, exclude_none=True)
    )
    return dumped


def _mergeable(last: dict[str, Any], new: dict[str, Any]) -> bool:
    """Streamed text continues the previous part unless a signature pins either one."""
    plain = {"text", "thought"}
    return (
        set(last) <= plain
        and set(new) <= plain
        and "text" in last
        and "text" in new
        and last.get("thought", False) == new.get("thought", False)
    )


def _usage(usage: types.GenerateContentResponseUsageMetadata | None) -> Usage:
    if usage is None:
        return Usage()
    thoughts = usage.thoughts_token_count or 0
    return Usage(
        input_tokens=usage.prompt_token_count or 0,
        output_tokens=(usage.candidates_token_count or 0) + thoughts,
        cached_tokens=usage.cached_content_token_count or 0,
        reasoning_tokens=thoughts,
    )


def _name(value: object) -> str:
    return str(value.value if isinstance(value, enum.Enum) else value)
