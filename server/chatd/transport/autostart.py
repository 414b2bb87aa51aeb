"""Reach the per-user socket daemon, starting it first if none runs.

Used by the ``--shared`` forwarder, which must start in a few tens of milliseconds: this module
imports neither asyncio nor the daemon. Two locks keep start-up single:

- forwarders that find no daemon take ``<socket>.start.lock`` in turn, so only the first one
  launches a daemon and the others connect to it;
- the daemon's own instance lock (``<socket>.lock``, which holds its pid) settles any other
  race, such as ``chatd send`` starting one at the same moment: the loser exits, and we wait
  for the winner, whose pid the lock file names.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

START_TIMEOUT_S = 20.0
"""How long we wait for a daemon to listen: its start-up imports ~1 s of libraries on an idle
machine, several seconds on a loaded one."""

POLL_INTERVAL_S = 0.02

LOG_TAIL_CHARS = 400


class DaemonUnreachable(Exception):
    """No daemon listens on the socket and none could be started; the message says why."""


def connect_or_start(socket_path: Path, config_path: Path | None) -> socket.socket:
    """A connected socket to the daemon on ``socket_path``, launching one if needed.

    :raises DaemonUnreachable: the daemon did not listen within ``START_TIMEOUT_S``, or exited.
    """
    connected = _try_connect(socket_path)
    if connected is not None:
        return connected
    socket_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _start_lock(socket_path):
        connected = _try_connect(socket_path)
        if connected is not None:
            return connected
        return _launch_and_wait(socket_path, config_path)


def daemon_argv(socket_path: Path, config_path: Path | None) -> list[str]:
    """The daemon this forwarder would start: same interpreter, same config, same socket."""
    argv = [sys.executable, "-m", "chatd"]
    if config_path is not None and config_path.exists():
        argv += ["--config", str(config_path)]
    return [*argv, "serve", "--socket", str(socket_path)]


def _try_connect(socket_path: Path) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(socket_path))
    except OSError:
        sock.close()
        return None
    return sock


@contextlib.contextmanager
def _start_lock(socket_path: Path) -> Iterator[None]:
    lock_path = socket_path.with_name(socket_path.name + ".start.lock")
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _launch_and_wait(socket_path: Path, config_path: Path | None) -> socket.socket:
    import subprocess

    log_path = socket_path.with_name(socket_path.name + ".log")
    with open(log_path, "wb") as log:  # the daemon's stderr: why it did not start, if it did not
        os.chmod(log_path, 0o600)
        daemon = subprocess.Popen(
            daemon_argv(socket_path, config_path),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        connected = _try_connect(socket_path)
        if connected is not None:
            return connected
        if daemon.poll() is not None and not _another_daemon_starting(socket_path, daemon.pid):
            raise DaemonUnreachable(
                f"chatd exited with status {daemon.returncode} before listening on "
                f"{socket_path}: {_tail(log_path)}"
            )
        time.sleep(POLL_INTERVAL_S)
    raise DaemonUnreachable(
        f"started chatd, but it did not listen on {socket_path} within {START_TIMEOUT_S:.0f} s "
        f"(its log: {log_path})"
    )


def _another_daemon_starting(socket_path: Path, ours: int) -> bool:
    """Whether the instance lock names a live daemon other than the one we launched."""
    lock_path = socket_path.with_name(socket_path.name + ".lock")  # the daemon's instance lock
    try:
        holder = int(lock_path.read_text().strip() or 0)
    except (OSError, ValueError):
        return False
    if holder in (0, ours):
        return False
    try:
        os.kill(holder, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tail(log_path: Path) -> str:
    try:
        text = log_path.read_text(errors="replace").strip()
    except OSError:
        return "(no log)"
    return text[-LOG_TAIL_CHARS:].replace("\n", " | ") or "(empty log)"
