"""The unix-socket transport: a private, single-instance listener for the user's scripts.

The socket lives in a 0700 directory and is itself 0600; each peer's uid is checked with
SO_PEERCRED, so other users are refused even if permissions are loosened. A lock file next to
the socket makes a second daemon on the same path exit with a clear message, and lets a
daemon that holds the lock replace a socket file left behind by a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
import stat
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO

from chatd.errors import ChatdError

log = logging.getLogger(__name__)

ClientHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

STREAM_LIMIT = 2**20


class AlreadyRunning(ChatdError):
    reason = "already_running"


class SocketListener:
    """Owns the socket file, its directory and the instance lock for the daemon's lifetime."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock: IO[str] | None = None
        self._server: asyncio.Server | None = None

    async def start(
        self, on_client: ClientHandler, before_listening: Callable[[], None] | None = None
    ) -> None:
        """``before_listening`` runs holding the instance lock, before clients can connect.

        :raises AlreadyRunning: another daemon serves this path.
        """
        _private_directory(self.path.parent)
        self._lock = _instance_lock(self.path)
        replace_stale(self.path)
        if before_listening is not None:
            before_listening()

        async def checked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if peer_uid(writer.get_extra_info("socket")) != os.getuid():
                log.warning("refused a connection from another user on %s", self.path)
                writer.close()
                return
            await on_client(reader, writer)

        old_umask = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(
                checked, path=str(self.path), limit=STREAM_LIMIT
            )
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)

    def stop_accepting(self) -> None:
        if self._server is not None:
            self._server.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def replace_stale(path: Path) -> None:
    """Remove a socket file a crashed daemon left; only the instance lock's holder may."""
    if path.exists() or path.is_symlink():
        log.info("replacing stale socket %s", path)
        path.unlink()


def _private_directory(directory: Path) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = directory.stat()
    if info.st_uid != os.getuid():
        raise ChatdError(f"socket directory {directory} belongs to another user")
    if stat.S_IMODE(info.st_mode) & 0o077:
        log.warning("socket directory %s was accessible to others; setting it to 0700", directory)
        directory.chmod(0o700)


def _instance_lock(path: Path) -> IO[str]:
    lock_path = path.with_name(path.name + ".lock")
    handle = open(lock_path, "a+")  # noqa: SIM115 - held open for the daemon's lifetime
    os.chmod(lock_path, 0o600)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise AlreadyRunning(
            f"another chatd (pid {holder}) is already serving {path}; "
            "use it, stop it with `chatd stop`, or choose another --socket path"
        ) from None
    handle.truncate(0)
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def peer_uid(sock: socket.socket) -> int:
    credentials = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return int(uid)
