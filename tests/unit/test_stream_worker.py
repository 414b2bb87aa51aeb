"""The stream worker: a real second loop on a real thread, driven from the test's loop."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable

import anyio
import anyio.lowlevel
import pytest

from chatd.core.events import TextDelta, TurnEvent
from chatd.core.providers.worker import StreamWorker

pytestmark = pytest.mark.anyio


@pytest.fixture
async def worker() -> AsyncIterator[StreamWorker]:
    worker = StreamWorker()
    yield worker
    await anyio.to_thread.run_sync(worker.stop)


class Received:
    """What reached the caller's side, and on which thread."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.threads: set[int] = set()

    def emit(self, event: TurnEvent) -> None:
        assert isinstance(event, TextDelta)
        self.texts.append(event.text)
        self.threads.add(threading.get_ident())


async def test_work_runs_on_the_worker_thread_and_every_event_arrives_first_in_order(
    worker: StreamWorker,
) -> None:
    received = Received()

    async def work(emit: Callable[[TurnEvent], None]) -> int:
        for number in range(500):
            emit(TextDelta(str(number)))
            if number % 7 == 0:
                await anyio.lowlevel.checkpoint()
        return threading.get_ident()

    worker_thread = await worker.stream(work, received.emit)

    assert received.texts == [str(number) for number in range(500)]
    assert received.threads == {threading.get_ident()}
    assert worker_thread != threading.get_ident()


async def test_concurrent_streams_each_get_their_own_events(worker: StreamWorker) -> None:
    streams = {name: Received() for name in "abc"}

    async def work(name: str, emit: Callable[[TurnEvent], None]) -> None:
        for number in range(100):
            emit(TextDelta(f"{name}{number}"))
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as group:
        for name, received in streams.items():
            group.start_soon(worker.stream, lambda emit, name=name: work(name, emit), received.emit)

    for name, received in streams.items():
        assert received.texts == [f"{name}{number}" for number in range(100)]


async def test_an_exception_in_the_work_reaches_the_caller(worker: StreamWorker) -> None:
    async def work() -> None:
        raise LookupError("from the worker")

    with pytest.raises(LookupError, match="from the worker"):
        await worker.run(work)


async def test_cancelling_the_caller_unwinds_the_work_before_cancellation_continues(
    worker: StreamWorker,
) -> None:
    received = Received()
    started = anyio.Event()
    unwound = threading.Event()

    async def work(emit: Callable[[TurnEvent], None]) -> None:
        emit(TextDelta("partial"))
        try:
            await anyio.sleep(3600)
        finally:
            unwound.set()

    with anyio.CancelScope() as scope:
        received_emit = received.emit

        def emit(event: TurnEvent) -> None:
            received_emit(event)
            started.set()

        async def cancel_when_started() -> None:
            await started.wait()
            scope.cancel()

        async with anyio.create_task_group() as group:
            group.start_soon(cancel_when_started)
            await worker.stream(work, emit)

    assert scope.cancelled_caught
    assert unwound.is_set()
    assert received.texts == ["partial"]


async def test_stopping_the_worker_under_a_running_call_fails_that_call(
    worker: StreamWorker,
) -> None:
    running = threading.Event()

    async def work() -> None:
        running.set()
        await anyio.sleep(3600)

    stopper = threading.Thread(target=lambda: running.wait() and worker.stop())
    stopper.start()
    with pytest.raises(RuntimeError, match="stopped under a running provider call"):
        await worker.run(work)
    stopper.join()
