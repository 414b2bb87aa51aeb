"""The stdio transport: the editor's pipes, read and written without blocking the loop.

stdout belongs to the protocol. The daemon keeps a private copy of it and points file
descriptor 1 at stderr, so a stray print from any library can never corrupt a frame.
"""

from __future__ import annotations

import asyncio
import os
import sys

import anyio

from chatd.rpc.server import Connection, ServerContext
from chatd.transport.stream import TransportWriter, serve_stream


async def serve_stdio(context: ServerContext, max_frame: int) -> int:
    """Serve the editor until EOF or ``exit``; returns the LSP exit status (0 or 1)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    transport, pipe = await loop.connect_write_pipe(_PipeProtocol, protocol_out)
    writer = TransportWriter(transport, "stdio client", pipe.wait_closed)
    connection = Connection(context, writer, name="stdio")
    try:
        await serve_stream(reader, connection, max_frame)
    finally:
        with anyio.CancelScope(shield=True):
            await writer.flush_and_close()
    return 0 if connection.exit_code is None else connection.exit_code


class _PipeProtocol(asyncio.Protocol):
    """Tells when the pipe is really closed, so the last replies are known to be written."""

    def __init__(self) -> None:
        self._closed = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._closed.done():
            self._closed.set_result(None)

    async def wait_closed(self) -> None:
        await self._closed
