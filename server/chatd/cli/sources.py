"""Where ``chatd store list/show/delete`` read: the running daemon, else the store itself.

A running daemon holds the store key and the live conversations, so it is the one source of
truth: going through it, the CLI shows what the daemon would continue, and a deletion leaves no
live copy behind. Without a daemon, the CLI opens the store with its own settings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol

from chatd.cli.daemon_link import connect_current
from chatd.config import Settings
from chatd.core.store import FileStore, open_store
from chatd.core.store.base import ListPage, Snapshot, SnapshotSummary, StoreProblem
from chatd.core.store.snapshot import from_document, parse_time

if TYPE_CHECKING:
    from chatd_client import Client


class ConversationSource(Protocol):
    async def list(self, *, limit: int, cursor: str | None, provider: str | None) -> ListPage: ...

    async def load(self, snapshot_id: str) -> Snapshot: ...

    async def delete(self, snapshot_id: str) -> None: ...


@asynccontextmanager
async def conversation_source(settings: Settings) -> AsyncIterator[ConversationSource]:
    """The daemon when one runs (never started for this), else the store directly."""
    link = await connect_current(settings)
    if link is None:
        yield _Store(open_store(settings.store))
        return
    async with link.client as client:
        yield _Daemon(client)


class _Store:
    def __init__(self, store: FileStore) -> None:
        self._store = store

    async def list(self, *, limit: int, cursor: str | None, provider: str | None) -> ListPage:
        return self._store.list(limit=limit, cursor=cursor, provider=provider)

    async def load(self, snapshot_id: str) -> Snapshot:
        return self._store.load(snapshot_id)

    async def delete(self, snapshot_id: str) -> None:
        self._store.delete(snapshot_id)


class _Daemon:
    def __init__(self, client: Client) -> None:
        self._client = client

    async def list(self, *, limit: int, cursor: str | None, provider: str | None) -> ListPage:
        limit = min(limit, MAX_DAEMON_PAGE)
        page = await self._client.store_list(limit=limit, cursor=cursor, provider=provider)
        return ListPage(
            items=[_summary(item) for item in page["items"]],
            next_cursor=page["nextCursor"],
            problems=[StoreProblem(**problem) for problem in page["problems"]],
        )

    async def load(self, snapshot_id: str) -> Snapshot:
        result = await self._client.request("store/get", {"snapshotId": snapshot_id})
        document = result["snapshot"]
        return from_document(document, snapshot_id=snapshot_id, file="the daemon's answer")

    async def delete(self, snapshot_id: str) -> None:
        await self._client.store_delete(snapshot_id)


MAX_DAEMON_PAGE = 200
"""The daemon's largest page (``rpc.params.MAX_PAGE``); longer listings take several."""


def _summary(item: dict[str, Any]) -> SnapshotSummary:
    return SnapshotSummary(
        id=item["id"],
        provider=item["provider"],
        model=item["model"],
        title=item["title"],
        created_at=parse_time(item["createdAt"]),
        updated_at=parse_time(item["updatedAt"]),
        message_count=item["messageCount"],
        metadata=item["metadata"],
        revision=item["revision"],
    )
