"""The store contract: what a saved conversation is, and what any conversation store offers.

A ``Snapshot`` is one conversation at one revision. Its ``id`` is the conversation id (a
canonical lowercase UUID), so saving a conversation again replaces its file with the next
revision. The JSON keys of the reference framework (go-tool-base ``chat``) are kept; ours are
extra keys the reference ignores. The store never interprets ``messages``: they are the
provider's own JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

SNAPSHOT_VERSION = 2
"""Version 1 is the reference's format; version 2 adds revision, updated_at, title, usage."""


@dataclass(frozen=True, kw_only=True)
class ToolSpec:
    """A tool's description as the model saw it; never its handler."""

    name: str
    description: str = ""
    parameters: dict[str, Any] | None = None
    approval: str = "auto"
    """``auto``, ``ask`` or ``deny``; chatd's key, written only when not ``auto``."""
    timeout_ms: int | None = None
    source: str = "client"
    """Who runs it: ``client`` (a connection), ``mcp:<server>`` or ``daemon`` (in-process)."""


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    """One conversation at one revision (``revision`` 0: never saved)."""

    id: str
    provider: str
    model: str
    messages: list[Any]
    created_at: datetime
    updated_at: datetime
    system_prompt: str = ""
    tools: tuple[ToolSpec, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    title: str | None = None
    revision: int = 0
    usage: dict[str, int] = field(default_factory=dict)
    version: int = SNAPSHOT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys this version does not know, kept so a round trip loses nothing."""


@dataclass(frozen=True, kw_only=True)
class SnapshotSummary:
    """What a conversation list shows, without the messages."""

    id: str
    provider: str
    model: str
    title: str | None
    created_at: datetime
    updated_at: datetime
    message_count: int
    metadata: dict[str, str]
    revision: int


@dataclass(frozen=True, kw_only=True)
class StoreProblem:
    """A file the store could not read; listed, never hidden."""

    file: str
    reason: str
    message: str


@dataclass(frozen=True, kw_only=True)
class ListPage:
    items: list[SnapshotSummary]
    next_cursor: str | None
    problems: list[StoreProblem]


class ConversationStore(Protocol):
    """Blocking file I/O by design: async callers go through ``anyio.to_thread``."""

    @property
    def directory(self) -> Path: ...

    @property
    def encrypted(self) -> bool: ...

    def save(self, snapshot: Snapshot) -> Snapshot:
        """Write ``snapshot`` as revision ``snapshot.revision + 1`` and return what was written.

        :raises StoreConflict: the stored revision is not ``snapshot.revision``.
        :raises InvalidSnapshotId:
        """
        ...

    def load(self, snapshot_id: str) -> Snapshot:
        """:raises SnapshotNotFound, DecryptionFailed, CorruptSnapshot, UnsupportedVersion:"""
        ...

    def delete(self, snapshot_id: str) -> None:
        """:raises SnapshotNotFound, InvalidSnapshotId:"""
        ...

    def exists(self, snapshot_id: str) -> bool:
        """Whether a snapshot file is there, without reading or decrypting it.

        :raises InvalidSnapshotId:
        """
        ...

    def list(
        self, *, limit: int = 50, cursor: str | None = None, provider: str | None = None
    ) -> ListPage:
        """Summaries newest first (by ``updated_at``); unreadable files go to ``problems``."""
        ...
