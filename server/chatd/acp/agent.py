"""The ``chatd acp`` process: one ACP client on stdio, over the store every front end shares.

It owns its sessions (as a ``chatd serve --stdio`` daemon does) and saves each turn to the
store, so a conversation started here continues in ``chatd send``, an editor plugin or
another ACP client. On EOF, SIGTERM or SIGINT: turns are cancelled, sessions saved, exit 0.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from pathlib import Path

import anyio

from chatd.acp.connection import AcpConnection
from chatd.acp.framing import LineParser
from chatd.acp.methods import AcpMethods
from chatd.config import Settings
from chatd.core.manager import SessionManager
from chatd.core.providers import ProviderPool
from chatd.core.store import open_store
from chatd.logs import configure_logging
from chatd.transport.pipes import open_stdio
from chatd.transport.stream import READ_CHUNK

log = logging.getLogger(__name__)


async def serve_acp(settings: Settings, home: Path) -> int:
    manager = SessionManager(settings, open_store(settings.store), ProviderPool(settings.providers))
    reader, writer = await open_stdio("ACP client")
    connection = AcpConnection(writer)
    methods = AcpMethods(manager, connection, home)
    methods.install()
    stop = anyio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    gc.freeze()
    async with anyio.create_task_group() as group:

        async def read_until_eof() -> None:
            parser = LineParser(settings.daemon.max_frame_bytes)
            try:
                while chunk := await reader.read(READ_CHUNK):
                    for line in parser.feed(chunk):
                        connection.receive(line)
            except ConnectionError:
                log.info("ACP client: connection lost")
            stop.set()

        group.start_soon(read_until_eof)
        await stop.wait()
        log.info("stopping: cancelling turns and saving sessions")
        with anyio.CancelScope(shield=True):
            methods.host.close()
            await connection.close()
            await manager.shutdown()
            await writer.flush_and_close()
        group.cancel_scope.cancel()
    return 0


def run(settings: Settings) -> int:
    configure_logging(settings, stdio=True)
    status = anyio.run(serve_acp, settings, Path.home(), backend="asyncio")
    for signum in (signal.SIGTERM, signal.SIGINT):  # already stopped: a repeat must not kill
        signal.signal(signum, signal.SIG_IGN)
    return status
