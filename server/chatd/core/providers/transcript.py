"""Helpers the adapters share for history checks, repair and cross-provider conversion."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from chatd.core.providers.base import ToolResult, TranscriptItem
from chatd.errors import CorruptSnapshot

log = logging.getLogger(__name__)

INTERRUPTED_RESULT = "interrupted: no result was recorded for this tool call"
"""Closes a call a restored history left unanswered (the reference's aborted streams do)."""

IMAGE_PLACEHOLDER = "[image]"
"""Stands in for an attachment in the neutral transcript, which carries text only."""

PART_NAMES = {"image": "image", "image_url": "image", "input_audio": "audio", "refusal": "refusal"}
"""What a conversion warning calls a non-text part ``result_text`` replaced; others are files."""


def corrupt(provider: str, index: int, why: str) -> CorruptSnapshot:
    return CorruptSnapshot(f"{provider} history message {index}: {why}")


def parse_arguments(raw: str | None) -> dict[str, Any]:
    """A tool call's JSON arguments; a model's malformed or non-object JSON becomes ``{}``."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        log.debug("tool call arguments are not valid JSON")
        return {}
    return value if isinstance(value, dict) else {}


def result_text(value: Any) -> str:
    """A tool result's content as text, whatever structure the API stored it in."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [
            part.get("text", "") if part.get("type") == "text" else IMAGE_PLACEHOLDER
            for part in value
            if isinstance(part, dict)
        ]
        return "".join(parts)
    return json.dumps(value, ensure_ascii=False)


def placeholders(value: Any) -> tuple[str, ...]:
    """The parts ``result_text`` turns into a placeholder, so a conversion can list them."""
    if not isinstance(value, list):
        return ()
    return tuple(
        PART_NAMES.get(str(part.get("type")), "file")
        for part in value
        if isinstance(part, dict) and part.get("type") != "text"
    )


def user_side(
    results: Sequence[ToolResult], text: str, omitted: tuple[str, ...] = ()
) -> list[TranscriptItem]:
    """One user-role message as transcript items: its tool results first, then its text.

    The message's ``omitted`` parts go on its first item.
    """
    items = [TranscriptItem("tool", tool_results=tuple(results))] if results else []
    items += [TranscriptItem("user", text=text)] if text else []
    if not (items and omitted):
        return items
    return [items[0]._replace(omitted=omitted), *items[1:]]


def conversion_warnings(items: list[TranscriptItem], source: str, target: str) -> list[str]:
    """What the neutral transcript of a ``source`` conversation left behind on its way into
    ``target``, counted, or nothing if nothing was."""
    counts = Counter(part for item in items for part in item.omitted)
    if not counts:
        return []
    dropped = ", ".join(f"{n} {part}{'s' if n > 1 else ''}" for part, n in counts.items())
    return [f"converted from {source} into {target}: dropped {dropped}"]


def require(condition: bool, provider: str, index: int, why: str) -> None:
    """:raises CorruptSnapshot: unless ``condition``."""
    if not condition:
        raise corrupt(provider, index, why)


def close_dangling(
    history: list[Any],
    *,
    user_role: str,
    key: str,
    items: Callable[[Any], list[Any]],
    calls: Callable[[Any], list[Any]],
    missing: Callable[[list[Any], list[Any]], list[Any]],
) -> list[Any]:
    """Answer every tool call that the next user message leaves unanswered.

    For APIs that put all of a step's results in one user message (Anthropic, Gemini):
    ``calls(message)`` lists the calls a message made (most made none, and nothing more is
    looked at for them); ``missing(calls, answer_items)`` returns the result items those
    calls still lack, given the items of the message after it (``[]`` if that is not a user
    message). They go first into that message, or into a new user message inserted after.
    """
    repaired = list(history)
    for index, message in enumerate(repaired):
        made = calls(message)
        if not made:
            continue
        following = repaired[index + 1] if index + 1 < len(repaired) else None
        answer = following if following is not None and following.get("role") == user_role else None
        answered = items(answer) if answer is not None else []
        added = missing(made, answered)
        if not added:
            continue
        if answer is None:
            repaired.insert(index + 1, {"role": user_role, key: added})
        else:
            repaired[index + 1] = {**answer, key: added + answered}
    return repaired
