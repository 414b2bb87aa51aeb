"""Fallback chains: a turn whose provider fails transiently moves on to the next provider.

A session's chain is its providers in order (the first is the one it started with) and the
position of the one in use. The position only moves forward, so within a turn each provider is
tried at most once, and the session stays on the provider that answered (saved under it, the
chain and position in the snapshot's ``fallback`` key). A turn moves only on a transient
failure (HTTP 408, 429 or 5xx, a timeout, a broken connection) and only while nothing has
reached the client and no tool has run in the turn: after that the failure is the turn's.
Moving converts the whole native history (as ``chat/restore`` with ``convert`` does), unless
the next provider reads the same format. Logs name the providers and a coarse reason, never
the error's text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from chatd.core.events import (
    TextDelta,
    ThinkingDelta,
    ToolCallRequested,
    ToolCallStarted,
    ToolResultReady,
    TurnEvent,
)
from chatd.core.providers.base import Conversation, Emit, Provider
from chatd.errors import ProviderFailure

log = logging.getLogger(__name__)

SNAPSHOT_KEY = "fallback"
"""The snapshot key holding ``{"providers": [...], "position": n}``; the reference ignores it."""

OUTPUT_EVENTS = (TextDelta, ThinkingDelta, ToolCallStarted, ToolCallRequested, ToolResultReady)


@dataclass(slots=True)
class FallbackChain:
    providers: tuple[str, ...]
    position: int = 0

    def remaining(self) -> tuple[str, ...]:
        return self.providers[self.position + 1 :]

    def as_json(self) -> dict[str, Any]:
        return {"providers": list(self.providers), "position": self.position}

    @classmethod
    def from_json(cls, value: Any) -> FallbackChain | None:
        """The chain a snapshot recorded; None for a missing or malformed one."""
        if not isinstance(value, dict):
            return None
        providers, position = value.get("providers"), value.get("position", 0)
        if not (isinstance(providers, list) and all(isinstance(p, str) for p in providers)):
            return None
        if type(position) is not int or not 0 <= position < len(providers):
            return None
        return cls(tuple(providers), position)


def chain_for(provider: str, configured: tuple[str, ...], own: list[str] | None) -> FallbackChain:
    """``own`` (from ``chat/new``; ``[]`` turns fallback off) lists the providers after
    ``provider``; without it the configured chain applies if it starts with ``provider``."""
    if own is not None:
        rest = tuple(dict.fromkeys(name for name in own if name != provider))
        return FallbackChain((provider, *rest))
    if configured and configured[0] == provider:
        return FallbackChain(tuple(dict.fromkeys(configured)))
    return FallbackChain((provider,))


def fallback_reason(exc: BaseException) -> str | None:
    """``status``, ``network`` or ``timeout`` when ``exc`` is worth another provider."""
    if not isinstance(exc, ProviderFailure):
        return None
    if exc.status is not None:
        return "status" if exc.status in (408, 429) or 500 <= exc.status <= 599 else None
    return exc.cause if exc.retryable else None


class OutputWatch:
    """Passes a turn's events on, remembering whether any output or tool result went out."""

    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self.output = False

    def __call__(self, event: TurnEvent) -> None:
        if isinstance(event, OUTPUT_EVENTS):
            self.output = True
        self._emit(event)


async def move_history(source: Provider, target: Provider, conversation: Conversation) -> list[Any]:
    """The conversation's history for ``target``: kept if it reads the format, else converted
    through the neutral transcript (what ``chat/restore`` with ``convert`` does)."""
    import anyio

    if target.accepts_snapshot_of(source.kind):
        return await anyio.to_thread.run_sync(target.validate_history, conversation.history)
    items = source.transcript(conversation.history)
    history, warnings = target.from_transcript(items, conversation.system_prompt)
    if warnings:
        log.info(
            "fallback %s -> %s: %d conversion warnings", source.name, target.name, len(warnings)
        )
    return history


def log_failover(source: str, target: str, reason: str) -> None:
    log.warning("chat provider failover: %s -> %s (reason: %s)", source, target, reason)
