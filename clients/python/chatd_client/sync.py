"""A blocking facade over ``Client`` for scripts that are not async.

The async client runs on a private event-loop thread, so notifications keep arriving
between calls; handlers given to ``on_notification`` run on that thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from chatd_client.client import Client

Result = TypeVar("Result")


class SyncClient:
    """Every coroutine method of ``Client`` is available here as a blocking call."""

    def __init__(self, connect: Callable[[], Awaitable[Client]]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._client = self._run(_awaited(connect))

    @classmethod
    def connect_unix(cls, path: str | Path, *, start: bool = False) -> SyncClient:
        return cls(lambda: Client.connect_unix(path, start=start))

    @classmethod
    def spawn_stdio(cls, **options: Any) -> SyncClient:
        return cls(lambda: Client.spawn_stdio(**options))

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def on_notification(self, handler: Callable[[str, Any], None]) -> None:
        self._client.on_notification(handler)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._run(self._client.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if not asyncio.iscoroutinefunction(method):
            return method

        def blocking(*args: Any, **kwargs: Any) -> Any:
            return self._run(method(*args, **kwargs))

        return blocking

    def _run(self, coroutine: Coroutine[Any, Any, Result]) -> Result:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()


async def _awaited(connect: Callable[[], Awaitable[Client]]) -> Client:
    return await connect()
