"""The stdio transport: the editor's pipes, read and written without blocking the loop."""

from __future__ import annotations

import anyio

from chatd.rpc.server import Connection, ServerContext
from chatd.transport.pipes import open_stdio
from chatd.transport.stream import serve_stream


async def serve_stdio(context: ServerContext, max_frame: int) -> int:
    """Serve the editor until EOF or ``exit``; returns the LSP exit status (0 or 1)."""
    reader, writer = await open_stdio("stdio client")
    connection = Connection(context, writer, name="stdio")
    try:
        await serve_stream(reader, connection, max_frame)
    finally:
        with anyio.CancelScope(shield=True):
            await writer.flush_and_close()
    return 0 if connection.exit_code is None else connection.exit_code
