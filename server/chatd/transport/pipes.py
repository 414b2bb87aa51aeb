"""The process's own stdin and stdout as asyncio streams, for any stdio protocol.

stdout belongs to the protocol. We keep a private copy of it and point file descriptor 1 at
stderr, so a stray print from any library can never corrupt a message.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sys
from typing import IO, Any

from chatd.transport.stream import TransportWriter

READ_LIMIT = 2**20
PIPE_BUFFER = 2**20


async def open_stdio(name: str) -> tuple[asyncio.StreamReader, TransportWriter]:
    protocol_out = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return await open_pipes(sys.stdin, protocol_out, name)


async def open_pipes(
    read_end: IO[Any] | int, write_fd: int, name: str
) -> tuple[asyncio.StreamReader, TransportWriter]:
    """Streams over a pipe (or socket) pair; the transports own and close both."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=READ_LIMIT)
    if isinstance(read_end, int):
        read_end = os.fdopen(read_end, "rb", buffering=0)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), read_end)
    _widen_pipe(write_fd)
    protocol_out = os.fdopen(write_fd, "wb", buffering=0)
    transport, pipe = await loop.connect_write_pipe(_PipeProtocol, protocol_out)
    return reader, TransportWriter(transport, name, pipe.wait_closed)


def _widen_pipe(fd: int) -> None:
    """Ask for a 1 MiB pipe buffer: a long replay then crosses in one write, not sixteen
    hand-overs between the processes (each a scheduler wait on a busy machine)."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BUFFER)
    except (OSError, AttributeError):
        pass  # not a pipe, not Linux, or above the system's limit: the default still works


class _PipeProtocol(asyncio.Protocol):
    """Tells when the pipe is really closed, so the last replies are known to be written."""

    def __init__(self) -> None:
        self._closed = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._closed.done():
            self._closed.set_result(None)

    async def wait_closed(self) -> None:
        await self._closed
