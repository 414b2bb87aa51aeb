"""The offline ``echo`` provider: replies ``[N] <message>``, N = user messages so far.

Asked for a structured answer (``chat/ask``), it replies a deterministic value of the
schema's shape (``core.answers.example_value``) as JSON text.

It needs no key and no network, streams its reply in a few deltas (pausing
``echo_delay_ms`` between them so tests can hold a turn open), and persists like a real
provider, so a reply of ``[3] …`` after a restart proves the history survived.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from operator import itemgetter
from typing import Any, ClassVar

import anyio

from chatd.config import ProviderSettings
from chatd.core.answers import example_value
from chatd.core.attachments import DOCUMENTS, IMAGES, Attachment, MediaInfo, base64_size
from chatd.core.events import TextDelta
from chatd.core.providers.base import (
    Conversation,
    Emit,
    Provider,
    StepResult,
    ToolResult,
    TranscriptItem,
    Usage,
)
from chatd.errors import CorruptSnapshot

DELTAS_PER_REPLY = 4


class EchoProvider(Provider):
    kind: ClassVar[str] = "echo"
    default_model: ClassVar[str] = "echo-1"

    def __init__(self, settings: ProviderSettings) -> None:
        super().__init__(settings)
        self.delay_s = settings.delay_ms / 1000.0

    media_types: ClassVar[frozenset[str]] = IMAGES | DOCUMENTS

    def user_message(self, text: str, attachments: Sequence[Attachment] = ()) -> Any:
        message: dict[str, Any] = {"role": "user", "content": text}
        if attachments:
            message["attachments"] = [
                {"mimeType": item.mime_type, "name": item.name, "data": item.base64}
                for item in attachments
            ]
        return message

    def assistant_message(self, text: str) -> Any:
        return {"role": "assistant", "content": text}

    async def step(self, conversation: Conversation, emit: Emit) -> StepResult:
        history = conversation.history
        user_turns = sum(map("user".__eq__, map(itemgetter("role"), history)))
        reply = f"[{user_turns}] {history[-1]['content']}"
        if conversation.answer is not None:
            reply = json.dumps(example_value(conversation.answer.wire_schema))
        size = max(1, -(-len(reply) // DELTAS_PER_REPLY))
        for start in range(0, len(reply), size):
            if start and self.delay_s:
                await anyio.sleep(self.delay_s)
            emit(TextDelta(reply[start : start + size]))
        usage = Usage(input_tokens=len(history[-1]["content"]), output_tokens=len(reply))
        return StepResult([self.assistant_message(reply)], reply, "end_turn", usage)

    def tool_result_messages(self, results: list[ToolResult]) -> list[Any]:
        return [{"role": "tool", "content": result.content} for result in results]

    def transcript(self, history: list[Any]) -> list[TranscriptItem]:
        return [
            TranscriptItem(item["role"], item["content"], attachments=_media(item))
            if "attachments" in item
            else TranscriptItem(item["role"], item["content"])
            for item in history
        ]

    def from_transcript(
        self, items: list[TranscriptItem], system_prompt: str
    ) -> tuple[list[Any], list[str]]:
        history = [{"role": item.role, "content": item.text} for item in items if item.text]
        dropped = sum(1 for item in items if item.tool_calls or item.tool_results)
        warnings = [f"echo keeps text only: dropped {dropped} tool messages"] if dropped else []
        return history, warnings

    def validate_history(self, messages: list[Any]) -> list[Any]:
        for message in super().validate_history(messages):
            if not (
                isinstance(message.get("role"), str) and isinstance(message.get("content"), str)
            ):
                raise CorruptSnapshot("echo history entries need string role and content")
        return messages


def _media(item: dict[str, Any]) -> tuple[MediaInfo, ...]:
    return tuple(
        MediaInfo(media["mimeType"], base64_size(media["data"]), media.get("name"), media["data"])
        for media in item["attachments"] or ()
    )
