"""Bytes to frames to a connection, and replies back, for any asyncio stream.

Both transports use it, so stdio and the socket behave the same on the wire.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio

from chatd_client.framing import FrameParser, FramingError

if TYPE_CHECKING:
    from chatd.rpc.server import Connection

log = logging.getLogger(__name__)

MAX_PENDING_OUTPUT = 64 * 1024 * 1024
"""A client that stops reading must not make the daemon buffer replies without limit."""

READ_CHUNK = 64 * 1024

FLUSH_TIMEOUT_S = 2.0
"""At shutdown, how long we wait for a slow reader to take the last replies."""


class TransportWriter:
    """pygls's writer interface over an asyncio transport, with a bound on buffered output."""

    def __init__(
        self,
        transport: asyncio.WriteTransport,
        name: str,
        wait_closed: Callable[[], Awaitable[None]],
    ) -> None:
        self._transport = transport
        self._name = name
        self._wait_closed = wait_closed
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        """Queue ``data``; everything written in one loop iteration leaves in one syscall."""
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        data, self._pending = b"".join(self._pending), []
        if self._transport.is_closing():
            return
        self._transport.write(data)
        if self._transport.get_write_buffer_size() > MAX_PENDING_OUTPUT:
            log.warning("%s stopped reading its replies; dropping the connection", self._name)
            self._transport.abort()

    def close(self) -> None:
        if self._pending:
            self._flush()
        self._transport.close()

    async def flush_and_close(self) -> None:
        """Close after the buffered replies are written, unless the reader is stuck."""
        self.close()
        try:
            await asyncio.wait_for(self._wait_closed(), FLUSH_TIMEOUT_S)
        except (TimeoutError, ConnectionError):
            self._transport.abort()


async def serve_stream(
    reader: asyncio.StreamReader, connection: Connection, max_frame: int
) -> None:
    """Feed ``connection`` until EOF or its ``exit``; then close it (cancelling its requests)."""
    parser = FrameParser(max_frame)
    try:
        while connection.exit_code is None and (chunk := await reader.read(READ_CHUNK)):
            parser.feed(chunk)
            while connection.exit_code is None and (event := parser.next_event()) is not None:
                if isinstance(event, FramingError):
                    connection.framing_error(event.reason, event.message)
                else:
                    connection.receive(event.body)
    except ConnectionError:
        log.info("%s: connection lost", connection.name)
    finally:
        with anyio.CancelScope(shield=True):
            await connection.close()
