"""The daemon's side of the stdio hand-over (the protocol is in ``transport.handoff``).

Each accepted forwarder gives two descriptors, the editor's pipes, which become one more
connection, served like the daemon's own stdio. The forwarder's socket stays open beside it:
its closing (the forwarder was killed) ends the editor's connection, and the connection's end
is reported on it as the exit status the forwarder passes on to the editor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

import chatd
from chatd.transport.handoff import ACK_TIMEOUT_S, MAX_LINE, handoff_path
from chatd.transport.unix import peer_uid, replace_stale

log = logging.getLogger(__name__)

ServeEditor = Callable[[int, int], Awaitable[int]]
"""Serve the editor on (read descriptor, write descriptor); its LSP exit status."""


class HandoffListener:
    def __init__(self, socket_path: Path, serve: ServeEditor) -> None:
        self.path = handoff_path(socket_path)
        self._serve = serve
        self._listening: socket.socket | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def bind(self) -> None:
        """Listen; called under the instance lock, before the main socket accepts anyone,
        so a forwarder that reached the daemon finds this socket too."""
        replace_stale(self.path)
        listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            listening.bind(str(self.path))
        finally:
            os.umask(old_umask)
        listening.listen(64)
        listening.setblocking(False)
        self._listening = listening
        self._spawn(self._accept(listening))

    def stop_accepting(self) -> None:
        if self._listening is not None:
            self._listening.close()
            self._listening = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _spawn(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _accept(self, listening: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                control, _ = await loop.sock_accept(listening)
            except OSError:  # closed by stop_accepting
                return
            if peer_uid(control) != os.getuid():
                log.warning("refused a hand-over from another user on %s", self.path)
                control.close()
                continue
            self._spawn(self._take_over(control))

    async def _take_over(self, control: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        with control:
            try:
                hello, fds = await anyio.to_thread.run_sync(_receive, control)
            except OSError as exc:
                log.info("a forwarder's hand-over failed: %s", exc)
                return
            if (
                len(fds) != 2
                or not isinstance(hello, dict)
                or hello.get("version") != chatd.__version__
            ):
                for fd in fds:
                    os.close(fd)
                theirs = hello.get("version") if isinstance(hello, dict) else None
                log.info("refused a forwarder of version %s", theirs)
                await _send(loop, control, {"ok": False, "version": chatd.__version__})
                return
            await _send(loop, control, {"ok": True})
            status = await self._serve_while_forwarder_lives(loop, control, fds[0], fds[1])
            await _send(loop, control, {"exit": status})

    async def _serve_while_forwarder_lives(
        self, loop: asyncio.AbstractEventLoop, control: socket.socket, read_fd: int, write_fd: int
    ) -> int:
        serving = asyncio.ensure_future(self._serve(read_fd, write_fd))
        forwarder_gone = asyncio.ensure_future(loop.sock_recv(control, 1))
        try:
            await asyncio.wait({serving, forwarder_gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            forwarder_gone.cancel()
            if not serving.done():
                log.info("a forwarder went away; ending its editor's connection")
                serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving
        return 1 if serving.cancelled() else serving.result()


def _receive(control: socket.socket) -> tuple[Any, list[int]]:
    """The forwarder's line and descriptors (blocking, on a thread, bounded by a timeout)."""
    control.settimeout(ACK_TIMEOUT_S)
    try:
        data, fds, _flags, _address = socket.recv_fds(control, MAX_LINE, 2)
    finally:
        control.setblocking(False)
    for fd in fds:
        os.set_inheritable(fd, False)
    try:
        return json.loads(data), fds
    except ValueError:
        return None, fds


async def _send(loop: asyncio.AbstractEventLoop, control: socket.socket, message: Any) -> None:
    with contextlib.suppress(OSError):
        await loop.sock_sendall(control, json.dumps(message).encode() + b"\n")
