"""What a test scripts the fake provider server to answer, independent of wire format."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Call:
    name: str
    arguments: dict[str, Any]
    id: str | None = None
    signature: str | None = None
    """Gemini: the ``thoughtSignature`` on the functionCall part."""


@dataclass
class Thought:
    text: str
    signature: str


@dataclass
class Reply:
    text: str | list[str] = ""
    """One string, or the deltas to stream it in."""
    calls: list[Call] = field(default_factory=list)
    thoughts: list[Thought] = field(default_factory=list)
    redacted: list[str] = field(default_factory=list)
    """Anthropic ``redacted_thinking`` data blobs."""
    input_tokens: int = 11
    output_tokens: int = 7
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    stop: str | None = None
    """A wire-specific stop/finish reason; the natural one when None."""
    hold: threading.Event | None = None
    """Streams pause after their first text delta until this is set."""
    break_after: int | None = None
    """Streams drop the connection after this many events."""
    delay_s: float = 0.0
    """Pause between streamed events."""

    def deltas(self) -> list[str]:
        if isinstance(self.text, list):
            return self.text
        return [self.text] if self.text else []


@dataclass
class Fail:
    status: int
    message: str = "scripted failure"
    headers: dict[str, str] = field(default_factory=dict)
    mid_stream: bool = False
    """Anthropic: send HTTP 200 and then an ``event: error`` (how overload arrives mid-stream)."""
