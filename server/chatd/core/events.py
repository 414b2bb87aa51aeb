"""What happens during a turn, as frozen values the rpc layer turns into ``chat/update``.

The core emits these and never knows who listens; ``Session`` numbers them per session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallStarted:
    call_id: str
    name: str


@dataclass(frozen=True, slots=True)
class ToolCallRequested:
    """The model finished writing a call; its arguments are complete."""

    call_id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolResultReady:
    call_id: str
    name: str
    content: str
    is_error: bool


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """``state`` is one of: running, idle, cancelled, failed."""

    state: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class ToolApprovalDecided:
    """How an ``ask`` tool's call was decided: an approval option, or ``unanswered``."""

    call_id: str
    name: str
    decision: str


TurnEvent = (
    TextDelta
    | ThinkingDelta
    | ToolCallStarted
    | ToolCallRequested
    | ToolResultReady
    | ToolApprovalDecided
    | StatusChanged
)
