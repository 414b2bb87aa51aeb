"""The daemon process: wires settings, store, sessions and transports, and stops cleanly.

Stopping (SIGTERM, SIGINT, ``daemon/stop``, or EOF/``exit`` on stdio): stop accepting
connections, cancel running turns (their requests answer ``cancelled``), save every dirty
session, close the providers, flush the replies, exit.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

import anyio

import chatd
from chatd.config import Settings
from chatd.core.manager import SessionManager
from chatd.core.providers import ProviderPool
from chatd.core.session import SessionState
from chatd.core.store import open_store
from chatd.logs import configure_logging
from chatd.rpc.server import Connection, ServerContext
from chatd.transport.handoff_server import HandoffListener
from chatd.transport.pipes import open_pipes
from chatd.transport.stdio import serve_stdio
from chatd.transport.stream import TransportWriter, serve_stream
from chatd.transport.unix import SocketListener

log = logging.getLogger(__name__)

EVICTION_PERIOD_MAX_S = 60.0
"""Idle sessions are looked for at least this often (more often for short idle limits)."""


class Daemon:
    def __init__(
        self, settings: Settings, socket_path: Path | None, *, on_demand: bool = False
    ) -> None:
        self.settings = settings
        self.socket_path = socket_path
        self.on_demand = on_demand
        self.started = time.monotonic()
        self.store = open_store(settings.store)
        self.store.check_key()  # a store under another key (or none) is refused before any turn
        self.manager = SessionManager(settings, self.store, ProviderPool(settings.providers))
        self.stop_requested = anyio.Event()
        self.context = ServerContext(
            manager=self.manager,
            encrypted=self.store.encrypted,
            request_stop=self.stop_requested.set,
            status=self.status,
        )

    def status(self) -> dict[str, Any]:
        sessions = self.manager.sessions.values()
        return {
            "pid": os.getpid(),
            "version": chatd.__version__,
            "uptimeSeconds": round(time.monotonic() - self.started, 3),
            "liveSessions": len(self.manager.sessions),
            "runningTurns": sum(1 for s in sessions if s.state is SessionState.RUNNING),
            "connections": len(self.context.connections),
            "socket": str(self.socket_path) if self.socket_path else None,
            "storeDir": str(self.store.directory),
            "encrypted": self.store.encrypted,
            "defaultProvider": self.settings.default_provider,
            "startedOnDemand": self.on_demand,
            "settingsFingerprint": dict(self.settings.fingerprint),
        }

    async def run(self, *, stdio: bool) -> int:
        """Serve until asked to stop; returns the process exit status."""
        exit_code = 0
        listener = SocketListener(self.socket_path) if self.socket_path else None
        handoff = (
            HandoffListener(self.socket_path, self._serve_editor) if self.socket_path else None
        )
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop_requested.set)
        if listener is not None and handoff is not None:
            await listener.start(self._serve_socket_client, before_listening=handoff.bind)
            log.info("listening on %s", listener.path)
        gc.freeze()  # what start-up loaded lives as long as we do: keep it out of collections
        async with anyio.create_task_group() as group:
            if stdio:

                async def stdio_then_stop() -> None:
                    nonlocal exit_code
                    exit_code = await serve_stdio(self.context, self._max_frame)
                    self.stop_requested.set()

                group.start_soon(stdio_then_stop)
            group.start_soon(self._evict_periodically)
            await self.stop_requested.wait()
            log.info("stopping: cancelling turns and saving sessions")
            if listener is not None and handoff is not None:
                handoff.stop_accepting()
                listener.stop_accepting()
            await self.manager.shutdown()
            await asyncio.gather(*(c.finish() for c in list(self.context.connections)))
            group.cancel_scope.cancel()
        return exit_code

    @property
    def _max_frame(self) -> int:
        return self.settings.daemon.max_frame_bytes

    async def _serve_socket_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        transport_writer = TransportWriter(writer.transport, "socket client", writer.wait_closed)
        connection = Connection(self.context, transport_writer, name="socket client")
        try:
            await serve_stream(reader, connection, self._max_frame)
        finally:
            await transport_writer.flush_and_close()

    async def _serve_editor(self, read_fd: int, write_fd: int) -> int:
        """An editor's stdio handed over by ``serve --stdio --shared``: like our own stdio.
        Its exit status: LSP's after ``exit``, 1 when we are stopping, 0 on the editor's EOF."""
        reader, writer = await open_pipes(read_fd, write_fd, "shared editor")
        connection = Connection(self.context, writer, name="shared editor")
        try:
            await serve_stream(reader, connection, self._max_frame)
        finally:
            with anyio.CancelScope(shield=True):
                await writer.flush_and_close()
        if connection.exit_code is not None:
            return connection.exit_code
        return 1 if self.stop_requested.is_set() else 0

    async def _evict_periodically(self) -> None:
        period = min(EVICTION_PERIOD_MAX_S, max(self.settings.daemon.idle_evict_s / 2, 0.05))
        while True:
            await anyio.sleep(period)
            evicted = await self.manager.evict_idle()
            if evicted:
                log.info("evicted %d idle sessions from memory", evicted)


def serve(
    settings: Settings, *, stdio: bool, socket_path: Path | None, on_demand: bool = False
) -> int:
    configure_logging(settings, stdio=stdio)

    async def main() -> int:
        return await Daemon(settings, socket_path, on_demand=on_demand).run(stdio=stdio)

    status = anyio.run(main, backend="asyncio")
    for signum in (signal.SIGTERM, signal.SIGINT):  # already stopped: a repeat must not kill
        signal.signal(signum, signal.SIG_IGN)
    return status
