"""What ``session/*`` handlers share: the workspace rule and what follows a turn.

After a turn the client gets a ``usage_update``, a ``session_info_update`` when the turn set
the title, and the prompt's answer with chatd's stop reason in ACP's terms.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any

from chatd.acp.connection import AcpConnection
from chatd.acp.listing import record_directories, workspace_of
from chatd.core.manager import SessionManager
from chatd.core.session import Session, TurnResult
from chatd.core.tools.service import WORKSPACE_KEY
from chatd.errors import InvalidParams
from chatd.rpc.results import rfc3339, usage_json

STOP_REASONS = {
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "max_steps": "max_turn_requests",
    "refusal": "refusal",
    "cancelled": "cancelled",
}
"""chatd's stop reasons (already the same for every provider) in ACP's vocabulary."""

CONTEXT_WINDOWS = (
    ("claude", 200_000),
    ("gemini", 1_048_576),
    ("gpt-4.1", 1_047_576),
    ("gpt-5", 400_000),
    ("gpt-4o", 128_000),
    ("o3", 200_000),
    ("o4", 200_000),
)
"""Context sizes by model-name prefix, for ``usage_update.size``; 0 means unknown."""


def checked_cwd(cwd: str) -> str:
    """``cwd`` normalised, as the tools layer keys workspaces.

    :raises InvalidParams: ACP paths are absolute.
    """
    if not PurePath(cwd).is_absolute():
        raise InvalidParams(f"cwd must be an absolute path, not {cwd[:200]!r}", field="cwd")
    return os.path.normpath(cwd)


def checked_directories(directories: list[str] | None) -> list[str]:
    """``additionalDirectories`` normalised.

    :raises InvalidParams: one is not absolute.
    """
    for directory in directories or ():
        if not PurePath(directory).is_absolute():
            raise InvalidParams(
                f"additionalDirectories must be absolute paths, not {directory[:200]!r}",
                field="additionalDirectories",
            )
    return [os.path.normpath(directory) for directory in directories or ()]


async def keep_roots(
    manager: SessionManager, session: Session, cwd: str, additional: list[str]
) -> None:
    """A conversation without a workspace takes ``cwd`` as its own; ``additional`` replaces
    the recorded additional directories (a request activates them, ``session/list`` reports
    them). A saved conversation is saved again at once when either changed."""
    changed = record_directories(session.metadata, additional)
    if workspace_of(session.metadata) is None:
        session.metadata[WORKSPACE_KEY] = session.tools.workspace = cwd
        changed = True
    if not changed:
        return
    session.dirty = True
    if session.persistent and session.revision > 0:
        await manager.save(session.id)


def context_window(model: str) -> int:
    return next((size for prefix, size in CONTEXT_WINDOWS if model.startswith(prefix)), 0)


def after_turn(connection: AcpConnection, result: TurnResult, title: str | None) -> dict[str, Any]:
    session, outcome = result.session, result.outcome
    used = outcome.usage.input_tokens + outcome.usage.output_tokens
    connection.update(
        session.id,
        {
            "sessionUpdate": "usage_update",
            "used": used,
            "size": context_window(session.conversation.model),
            "_meta": {"chatd": {"session": usage_json(session.usage)}},
        },
    )
    if session.title != title:
        now = rfc3339(datetime.now(UTC))
        info = {"sessionUpdate": "session_info_update", "title": session.title, "updatedAt": now}
        connection.update(session.id, info)
    answer: dict[str, Any] = {"stopReason": STOP_REASONS.get(outcome.stop_reason, "end_turn")}
    meta: dict[str, Any] = {"revision": session.revision}
    if result.save_error is not None:
        meta["saveError"] = {
            "reason": result.save_error.reason,
            "message": result.save_error.message,
        }
    answer["_meta"] = {"chatd": meta}
    return answer
