"""The editor's stdio handed to the shared daemon, so no process forwards its frames.

``chatd serve --stdio --shared`` connects to ``<socket>.handoff`` beside the daemon's socket
and sends one JSON line, ``{"version": …}``, with its stdin and stdout as SCM_RIGHTS
descriptors. A daemon of the same version answers ``{"ok": true}`` and serves them as one more
connection, exactly as it serves its own stdio; when that connection ends it sends
``{"exit": status}`` (the LSP exit status) and closes. A daemon of another version answers
``{"ok": false, "version": …}`` and closes the descriptors, so the editor gets
``version_mismatch`` from the forwarder, never a silently skewed protocol.

The forwarder waits on this socket for as long as the editor is served: if the daemon dies
the socket closes and the forwarder exits 1 (the editor sees its stdout close, as with a
private daemon); if the forwarder is killed, the daemon ends the editor's connection.

This module is the forwarder's side: stdlib only, as the forwarder must start fast.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chatd

ACK_TIMEOUT_S = 10.0
"""The daemon answers a hand-over at once; a loaded machine may delay it a little."""

MAX_LINE = 4096


def handoff_path(socket_path: Path) -> Path:
    return socket_path.with_name(socket_path.name + ".handoff")


@dataclass(frozen=True)
class Refused:
    """The daemon runs another version (``None``: one too old to take a hand-over)."""

    daemon_version: str | None


def hand_over(socket_path: Path, read_fd: int = 0, write_fd: int = 1) -> int | Refused:
    """Give the daemon the editor's pipes and wait until it is done with them.

    :returns: the exit status the forwarder should end with, or why the daemon refused.
    :raises OSError: the daemon did not take the hand-over (it went away, or never answered).
    """
    control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with control:
        try:
            control.connect(str(handoff_path(socket_path)))
        except (FileNotFoundError, ConnectionRefusedError):
            return Refused(None)
        control.settimeout(ACK_TIMEOUT_S)
        hello = json.dumps({"version": chatd.__version__}).encode() + b"\n"
        socket.send_fds(control, [hello], [read_fd, write_fd])
        lines = _Lines(control)
        answer = lines.next()
        if answer is None:
            raise OSError("the daemon did not answer the hand-over of the editor's stdio")
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            theirs = answer.get("version") if isinstance(answer, dict) else None
            return Refused(theirs if isinstance(theirs, str) else None)
        control.settimeout(None)  # from here on, as long as the editor is served
        ended = lines.next()
    status = ended.get("exit") if isinstance(ended, dict) else None
    return status if type(status) is int else 1


class _Lines:
    """JSON lines from the daemon; ``None`` once it has closed (or broke)."""

    def __init__(self, control: socket.socket) -> None:
        self._control = control
        self._buffer = b""

    def next(self) -> Any:
        while b"\n" not in self._buffer:
            try:
                chunk = self._control.recv(MAX_LINE)
            except OSError:  # reset by a daemon that died, or the hand-over's timeout
                return None
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            return None
