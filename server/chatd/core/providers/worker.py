"""A second event loop, on its own thread, where the HTTP adapters stream.

Reading an SDK stream costs 200-700 µs of CPU per delta inside httpx2, httpcore2, h11 and
anyio, none of it ours. On the daemon's loop, 100 busy streams would delay every other request
by tens of milliseconds. Here the SDK clients live and their steps run on this loop; the
daemon's loop keeps the protocol, sessions, tools and store, and gets the GIL back within one
switch interval (5 ms) when a request arrives. Events come back in batches: one wake-up of
the daemon's loop carries every event the worker's loop produced in one iteration, whatever
the number of streams.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio

from chatd.core.events import TurnEvent
from chatd.core.providers.base import Emit

log = logging.getLogger(__name__)

T = TypeVar("T")

CANCEL_GRACE_S = 5.0
"""How long a cancelled call may take to unwind (closing its HTTP stream) before we stop
waiting for it; the SDKs close a stream in well under a millisecond."""

STOP_TIMEOUT_S = 10.0


@dataclass(slots=True)
class _Channel:
    """Where one call's events go; closed once the call is over, so nothing stray arrives."""

    loop: asyncio.AbstractEventLoop
    emit: Emit
    closed: bool = False


class StreamWorker:
    """Runs coroutines on a private event-loop thread, started on first use."""

    def __init__(self, name: str = "chatd-streams") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()
        self._outbox: list[tuple[_Channel, TurnEvent]] = []
        self._flush_scheduled = False

    async def stream(self, work: Callable[[Emit], Awaitable[T]], emit: Emit) -> T:
        """``run``, where ``work`` is given an emit that hands events to ``emit`` on the
        caller's loop, in order, all of them before this returns or raises."""
        channel = _Channel(asyncio.get_running_loop(), emit)
        try:
            return await self.run(lambda: work(lambda event: self._send(channel, event)))
        finally:
            channel.closed = True

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """``work()`` on the worker loop; cancelling the caller cancels it and waits for it.

        :raises RuntimeError: the worker stopped before ``work`` finished (the daemon stops
            its sessions first, so this is a bug).
        """
        worker_loop = self._ensure_started()
        caller_loop = asyncio.get_running_loop()
        finished: asyncio.Future[asyncio.Task[T]] = caller_loop.create_future()
        started: list[asyncio.Task[T]] = []

        def settle(task: asyncio.Task[T]) -> None:
            if not finished.done():
                finished.set_result(task)

        def start() -> None:
            task = worker_loop.create_task(_call(work))
            task.add_done_callback(lambda done: caller_loop.call_soon_threadsafe(settle, done))
            started.append(task)

        def cancel() -> None:
            for task in started:
                task.cancel()

        worker_loop.call_soon_threadsafe(start)
        try:
            task = await asyncio.shield(finished)
        except asyncio.CancelledError:
            worker_loop.call_soon_threadsafe(cancel)
            with anyio.CancelScope(shield=True), anyio.move_on_after(CANCEL_GRACE_S) as late:
                await asyncio.shield(finished)
            if late.cancelled_caught:
                log.warning("a cancelled provider call did not finish in %.0f s", CANCEL_GRACE_S)
            raise
        if task.cancelled():
            raise RuntimeError("the stream worker stopped under a running provider call")
        return task.result()

    def stop(self) -> None:
        """Cancel what still runs, close the loop and join the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(_wind_down(), loop).result(STOP_TIMEOUT_S)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_TIMEOUT_S)
        loop.close()
        self._loop = self._thread = None

    def _send(self, channel: _Channel, event: TurnEvent) -> None:
        """On the worker loop: queue; one flush per loop iteration sends every queued event.

        A call's done-callbacks are scheduled after the flush its last event scheduled, and
        both cross in FIFO order, so the caller sees every event before the call's end.
        """
        self._outbox.append((channel, event))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        outbox, self._outbox, self._flush_scheduled = self._outbox, [], False
        by_loop: defaultdict[asyncio.AbstractEventLoop, list[tuple[_Channel, TurnEvent]]]
        by_loop = defaultdict(list)
        for channel, event in outbox:
            by_loop[channel.loop].append((channel, event))
        for loop, batch in by_loop.items():
            loop.call_soon_threadsafe(_deliver, batch)

    def _ensure_started(self) -> asyncio.AbstractEventLoop:
        with self._starting:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name=self._name, daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop


async def _call(work: Callable[[], Awaitable[T]]) -> T:
    return await work()


async def _wind_down() -> None:
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.get_running_loop().shutdown_default_executor()


def _deliver(batch: list[tuple[_Channel, TurnEvent]]) -> None:
    for channel, event in batch:
        if not channel.closed:
            channel.emit(event)
