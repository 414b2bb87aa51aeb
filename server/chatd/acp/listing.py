"""``session/list``: saved conversations as ACP ``SessionInfo``, filtered by workspace.

A conversation's workspace is its snapshot's ``workspace`` metadata, set by ``session/new``
(or by the first ``session/load`` / ``session/resume`` with a ``cwd``); its additional
directories are the ones the latest of those requests activated. Conversations made
without one (the LSP-framed protocol, the CLI) appear only in an unfiltered list, with the
user's home directory as their ``cwd``. Cursors are opaque to clients: a store cursor and how
many of that store page were already handed out, so a filtered page can stop mid-page.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path
from typing import Any

from chatd.core.store.base import ConversationStore, SnapshotSummary
from chatd.core.tools.service import WORKSPACE_KEY
from chatd.errors import InvalidParams
from chatd.rpc.results import rfc3339

PAGE_SIZE = 50
STORE_PAGE = 200
DIRECTORIES_KEY = "additional_directories"
"""The snapshot metadata key holding the activated ``additionalDirectories``, a JSON array
(metadata values are strings in the snapshot format)."""


def workspace_of(metadata: dict[str, str]) -> str | None:
    return metadata.get(WORKSPACE_KEY)


def directories_of(metadata: dict[str, str]) -> list[str]:
    """The recorded additional directories; none when the value is not a list of paths."""
    try:
        directories = json.loads(metadata.get(DIRECTORIES_KEY) or "[]")
    except ValueError:
        return []
    if not isinstance(directories, list):
        return []
    return [directory for directory in directories if isinstance(directory, str)]


def record_directories(metadata: dict[str, str], directories: list[str]) -> bool:
    """Keep ``directories`` as the recorded ones; whether that changed anything."""
    if directories == directories_of(metadata):
        return False
    if directories:
        metadata[DIRECTORIES_KEY] = json.dumps(directories, ensure_ascii=False)
    else:
        metadata.pop(DIRECTORIES_KEY, None)
    return True


def session_info(summary: SnapshotSummary, home: Path) -> dict[str, Any]:
    info: dict[str, Any] = {
        "sessionId": summary.id,
        "cwd": workspace_of(summary.metadata) or str(home),
        "title": summary.title,
        "updatedAt": rfc3339(summary.updated_at),
        "_meta": {
            "messageCount": summary.message_count,
            "provider": summary.provider,
            "model": summary.model,
        },
    }
    if directories := directories_of(summary.metadata):
        info["additionalDirectories"] = directories
    return info


def list_sessions(
    store: ConversationStore, cwd: str | None, cursor: str | None, home: Path
) -> dict[str, Any]:
    """One page, newest first; blocking (it reads the store's index).

    :raises InvalidParams: a cursor this agent did not hand out.
    """
    store_cursor, skip = _decode(cursor)
    cwd = None if cwd is None else os.path.normpath(cwd)
    found: list[dict[str, Any]] = []
    while True:
        page = store.list(limit=STORE_PAGE, cursor=store_cursor)
        for index in range(skip, len(page.items)):
            summary = page.items[index]
            if cwd is not None and workspace_of(summary.metadata) != cwd:
                continue
            if len(found) == PAGE_SIZE:
                return {"sessions": found, "nextCursor": _encode(store_cursor, index)}
            found.append(session_info(summary, home))
        if page.next_cursor is None:
            return {"sessions": found}
        store_cursor, skip = page.next_cursor, 0


def _encode(store_cursor: str | None, skip: int) -> str:
    raw = json.dumps([store_cursor, skip], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str | None) -> tuple[str | None, int]:
    if cursor is None:
        return None, 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        store_cursor, skip = json.loads(raw)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidParams("unknown session list cursor", field="cursor") from None
    valid_store_cursor = store_cursor is None or isinstance(store_cursor, str)
    if not valid_store_cursor or type(skip) is not int or skip < 0:
        raise InvalidParams("unknown session list cursor", field="cursor")
    return store_cursor, skip
