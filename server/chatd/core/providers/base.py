"""The provider contract: one adapter per wire API, native history in, native history out.

An adapter makes exactly one model call per ``step``: it streams events through ``emit`` and
returns the native messages to append plus the tool calls the model asked for. The tool loop,
cancellation and rollback live once in ``core.turns``, not in each adapter. An adapter imports
its SDK lazily, inside its methods, so the daemon starts without paying for any SDK.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, NamedTuple

from chatd.config import ProviderSettings
from chatd.core.answers import AnswerFormat
from chatd.core.attachments import Attachment, MediaInfo
from chatd.core.events import TurnEvent
from chatd.core.store.base import ToolSpec
from chatd.errors import CorruptSnapshot

Emit = Callable[[TurnEvent], None]
"""Hands one event to the session; never blocks, never raises."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolResult:
    call_id: str
    name: str
    content: str
    is_error: bool = False


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(Usage)}
        )

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(Usage)}

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> Usage:
        return cls(**{f.name: int(data.get(f.name, 0)) for f in fields(Usage)})


@dataclass(frozen=True, slots=True)
class StepResult:
    """One model call: what to append to history, and what the model wants run."""

    messages: list[Any]
    text: str
    stop_reason: str
    usage: Usage = Usage()
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(slots=True)
class Conversation:
    """The mutable state one session's turns work on."""

    model: str
    system_prompt: str
    history: list[Any]
    tools: tuple[ToolSpec, ...] = ()
    state: dict[str, Any] = field(default_factory=dict)
    """Provider-private, memory-only state (claude-local's CLI session id)."""
    answer: AnswerFormat | None = None
    """Set for a ``chat/ask`` step: answer with JSON matching this schema, use no tools."""


class TranscriptItem(NamedTuple):
    """Provider-neutral view of one message: what an editor renders, what conversion uses.

    A named tuple rather than a frozen dataclass: every replay and history page builds one
    per message, and a frozen dataclass's ``__init__`` costs twice as much (1.4 vs 0.7 µs
    here), more than a 1,000-message snapshot's whole decode.
    """

    role: str
    """``user``, ``assistant`` or ``tool``."""
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_results: tuple[ToolResult, ...] = ()
    omitted: tuple[str, ...] = ()
    """Provider-only parts this item leaves out, e.g. 'thinking block', 'signature', 'image'."""
    attachments: tuple[MediaInfo, ...] = ()
    thinking: str = ""
    """The model's visible reasoning, for display only (conversion still omits it)."""


class Provider(ABC):
    """A live adapter, built once per configured provider and shared by its sessions."""

    kind: ClassVar[str]
    default_model: ClassVar[str]
    persistent: ClassVar[bool] = True
    streaming: ClassVar[bool] = True
    snapshot_names: ClassVar[tuple[str, ...]] = ()
    """Extra provider stamps this adapter accepts on restore (the reference's ``openai``)."""
    media_types: ClassVar[frozenset[str]] = frozenset()
    """The attachment types the API takes (``core.attachments``); none by default."""

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self.name = settings.name

    @property
    def model(self) -> str:
        return self.settings.model or self.default_model

    def accepts_snapshot_of(self, provider: str) -> bool:
        return provider in (self.name, self.kind, *self.snapshot_names)

    def check_available(self) -> None:
        """:raises ProviderUnavailable: credentials or the executable are missing."""

    async def ready(self) -> None:
        """``check_available``, never blocking the event loop.

        :raises ProviderUnavailable:
        """
        self.check_available()

    def start_history(self, system_prompt: str) -> list[Any]:
        """History of a new conversation (OpenAI keeps the system prompt in it)."""
        return []

    @abstractmethod
    def user_message(self, text: str, attachments: Sequence[Attachment] = ()) -> Any:
        """The user's turn: the text first, then the attachments in the caller's order."""

    @abstractmethod
    def assistant_message(self, text: str) -> Any:
        """A plain assistant turn: keeps the partial text of a cancelled step."""

    @abstractmethod
    async def step(self, conversation: Conversation, emit: Emit) -> StepResult:
        """One model call on ``conversation.history`` (already ending with the user's turn).

        :raises ProviderFailure: the API failed; history is rolled back by the caller.
        """

    @abstractmethod
    def tool_result_messages(self, results: list[ToolResult]) -> list[Any]: ...

    @abstractmethod
    def transcript(self, history: list[Any]) -> list[TranscriptItem]: ...

    @abstractmethod
    def from_transcript(
        self, items: list[TranscriptItem], system_prompt: str
    ) -> tuple[list[Any], list[str]]:
        """Native history from a neutral transcript, plus warnings about what this provider
        could not take beyond the parts the transcript itself omits (those are counted once,
        for every provider, by ``transcript.conversion_warnings``)."""

    def validate_history(self, messages: list[Any]) -> list[Any]:
        """Check a restored history has this API's shape.

        :raises CorruptSnapshot:
        """
        if not all(isinstance(message, dict) for message in messages):
            raise CorruptSnapshot(f"{self.name} history must be a list of JSON objects")
        return messages

    async def aclose(self) -> None:
        """Release SDK clients and subprocesses."""
