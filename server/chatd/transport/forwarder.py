"""``chatd serve --stdio --shared``: the editor's stdio forwarded to the per-user socket daemon.

Editors attach to one long-running daemon instead of paying a cold start each and holding
private copies of a conversation. Bytes pass both ways exactly as they came, server→client
requests included. The forwarder only watches the traffic, for three things:

- the handshake: the answer to the editor's ``initialize`` must come from a daemon running this
  same chatd version; otherwise the editor gets ``version_mismatch`` (``chatd stop`` fixes it),
  and every later request the same error, never a silently skewed protocol;
- the requests still waiting: if the daemon goes away, each gets ``daemon_lost`` and the
  forwarder exits 1, so the editor's next command starts it (and the daemon) again;
- ``shutdown`` and ``exit``, so an orderly end exits 0 as in LSP.

It imports neither asyncio, pygls, an SDK nor the store: two threads and blocking I/O start in
a few tens of milliseconds.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import chatd
from chatd.config import Settings
from chatd.rpc import errors as codes
from chatd.transport.autostart import DaemonUnreachable, connect_or_start
from chatd_client.framing import Frame, FrameParser, encode_frame

READ_CHUNK = 64 * 1024

_NO_ID = object()
"""The editor has not sent ``initialize`` yet (``None`` is a valid request id)."""

DRAIN_TIMEOUT_S = 2.0
"""After the editor's EOF, how long the daemon may take to answer and close our connection."""


def forward_stdio(settings: Settings) -> int:
    """Serve the editor on stdio through the shared daemon; returns the exit status."""
    socket_path = settings.daemon.socket_path
    refusal = None
    daemon = None
    try:
        daemon = connect_or_start(socket_path, settings.config_path)
    except DaemonUnreachable as exc:
        _report(str(exc))
        refusal = codes.error_object(
            codes.FORWARDER_DAEMON_UNAVAILABLE,
            str(exc),
            "daemon_unreachable",
            socket=str(socket_path),
        )
    forwarder = Forwarder(daemon, socket_path, settings.daemon.max_frame_bytes, refusal)
    return forwarder.run()


class Forwarder:
    """Two pumps, editor→daemon and daemon→editor, sharing what they learn under one lock."""

    def __init__(
        self,
        daemon: socket.socket | None,
        socket_path: Path,
        max_frame: int,
        refusal: dict[str, Any] | None = None,
    ) -> None:
        self._daemon = daemon
        self._socket_path = socket_path
        self._max_frame = max_frame
        self._refusal = refusal
        """When set, the error every request gets: the daemon is not (or no longer) usable."""
        self._lock = threading.Lock()
        self._pending: set[Any] = set()
        self._initialize_id: Any = _NO_ID
        self._verified = False
        self._shutdown_requested = False
        self._exit_requested = False
        self._editor_gone = False
        self._daemon_closed = threading.Event()
        self._finished = threading.Event()
        self._exit_code = 0

    def run(self) -> int:
        pumps = [self._pump_editor]
        if self._daemon is not None:
            pumps.append(self._pump_daemon)
        for pump in pumps:
            threading.Thread(target=self._guarded, args=(pump,), daemon=True).start()
        self._finished.wait()
        if self._daemon is not None:
            self._daemon.close()
        return self._exit_code

    def _guarded(self, pump: Callable[[], None]) -> None:
        """A pump that breaks (a bug: its traceback goes to stderr) ends the forwarder."""
        completed = False
        try:
            pump()
            completed = True
        finally:
            if not completed:
                self._finish(1)

    def _finish(self, exit_code: int) -> None:
        if not self._finished.is_set():
            self._exit_code = exit_code
            self._finished.set()

    def _lsp_exit_code(self) -> int:
        return 0 if self._shutdown_requested else 1

    def _pump_editor(self) -> None:
        parser = FrameParser(self._max_frame)  # the daemon's own limit: both skip the same frames
        while chunk := _read_stdin():
            parser.feed(chunk)
            while (event := parser.next_event()) is not None:
                if isinstance(event, Frame):
                    self._from_editor(_decode(event.body))
            if self._refusal is None and self._daemon is not None:
                try:
                    self._daemon.sendall(chunk)
                except OSError:
                    self._daemon_closed.wait(DRAIN_TIMEOUT_S)
            if self._finished.is_set():
                return
        self._editor_closed()

    def _from_editor(self, message: Any) -> None:
        if not isinstance(message, dict) or not isinstance(message.get("method"), str):
            return
        method, request_id = message["method"], message.get("id")
        with self._lock:
            if method == "shutdown":
                self._shutdown_requested = True
            if method == "exit":
                self._exit_requested = True
            if method == "initialize" and self._initialize_id is _NO_ID and "id" in message:
                self._initialize_id = request_id
            refusal = self._refusal
            if refusal is None and isinstance(request_id, str | int):
                self._pending.add(request_id)  # other ids are invalid: the daemon says so
        if refusal is not None:
            self._answer_while_refusing(method, request_id, "id" in message, refusal)

    def _answer_while_refusing(
        self, method: str, request_id: Any, is_request: bool, refusal: dict[str, Any]
    ) -> None:
        """Without a daemon, ``shutdown`` and ``exit`` still end the editor's session cleanly."""
        if method == "exit":
            self._finish(self._lsp_exit_code())
        elif is_request:
            reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
            reply.update({"result": None} if method == "shutdown" else {"error": refusal})
            self._write_editor(encode_frame(reply))

    def _editor_closed(self) -> None:
        """EOF from the editor: let the daemon see it, and give it a moment to close."""
        with self._lock:
            self._editor_gone = True
        if self._daemon is not None and self._refusal is None:
            try:
                self._daemon.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            self._daemon_closed.wait(DRAIN_TIMEOUT_S)
        self._finish(0)

    def _pump_daemon(self) -> None:
        """Bytes go on as they come, except while the answer to ``initialize`` is awaited."""
        assert self._daemon is not None
        frames = DaemonFrames()
        held: list[bytes] = []
        while chunk := _receive(self._daemon):
            with self._lock:
                holding = self._initialize_id is not _NO_ID and not self._verified
            if holding:
                held.append(chunk)
            else:
                self._write_editor(chunk)
            for answer in frames.answers(chunk):
                if not self._from_daemon(answer):
                    break  # the handshake failed: what the daemon said goes no further
                if held and self._verified:
                    self._write_editor(b"".join(held))
                    held.clear()
            if self._refusal is not None:
                break
        self._daemon_gone()

    def _from_daemon(self, body: bytes) -> bool:
        """Note an answered request; False when the handshake failed and the daemon is dropped."""
        message = _decode(body)
        if not isinstance(message, dict) or "method" in message or "id" not in message:
            return True
        with self._lock:
            if isinstance(message["id"], str | int):
                self._pending.discard(message["id"])
            is_handshake = not self._verified and message["id"] == self._initialize_id
        if not is_handshake:
            return True
        refusal = self._check_version(message)
        if refusal is None:
            return True
        self._write_editor(encode_frame({**_reply_to(message), "error": refusal}))
        return False

    def _check_version(self, reply: dict[str, Any]) -> dict[str, Any] | None:
        self._verified = True
        result = reply.get("result")
        if not isinstance(result, dict):
            return None  # an error answer (already initialized, say) passes as it is
        server_info = result.get("serverInfo")
        theirs = server_info.get("version") if isinstance(server_info, dict) else None
        if theirs == chatd.__version__:
            return None
        message = (
            f"the chatd daemon on {self._socket_path} runs version {theirs or 'unknown'}, "
            f"but this editor started chatd {chatd.__version__}: run `chatd stop` (it saves "
            "every conversation), then retry; the next command starts the new version"
        )
        _report(message)
        refusal = codes.error_object(
            codes.FORWARDER_VERSION_MISMATCH,
            message,
            "version_mismatch",
            daemonVersion=theirs,
            forwarderVersion=chatd.__version__,
            socket=str(self._socket_path),
        )
        with self._lock:
            self._refusal = refusal
            self._pending.clear()
        return refusal

    def _daemon_gone(self) -> None:
        """The daemon closed our connection: after ``exit`` that is the end, else a loss."""
        self._daemon_closed.set()
        with self._lock:
            refused = self._refusal is not None
            waiting, self._pending = self._pending, set()
            ended_by_exit, ended_by_eof = self._exit_requested, self._editor_gone
        if refused:
            assert self._daemon is not None
            self._daemon.close()  # the version check dropped it; the editor pump answers now
            return
        if ended_by_exit or ended_by_eof:
            self._finish(self._lsp_exit_code() if ended_by_exit else 0)
            return
        lost = codes.error_object(
            codes.FORWARDER_DAEMON_UNAVAILABLE,
            f"the chatd daemon on {self._socket_path} went away (stopped or crashed); "
            "the next command starts it again",
            "daemon_lost",
            socket=str(self._socket_path),
        )
        _report(f"the daemon on {self._socket_path} went away; {len(waiting)} requests lost")
        self._write_editor(
            b"".join(encode_frame({"jsonrpc": "2.0", "id": i, "error": lost}) for i in waiting)
        )
        self._finish(1)

    def _write_editor(self, data: bytes) -> None:
        with self._lock:
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(1, view) :]
            except OSError:
                self._finish(0)  # the editor is gone


class DaemonFrames:
    """Finds the daemon's answers in its byte stream, cheaply: it runs on every update.

    The daemon's output is trusted to be well framed (its own encoder wrote it), so a search
    for the blank line and the length is enough; a body without an ``"id"`` key (the bytes
    cannot appear outside a key, as JSON escapes quotes inside strings) is a notification and
    is skipped unread.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def answers(self, data: bytes) -> list[bytes]:
        """The bodies in ``data`` (and what came before it) that may be answers."""
        buffer = self._buffer
        buffer += data
        found, position = [], 0
        while (header_end := buffer.find(b"\r\n\r\n", position)) >= 0:
            length = _CONTENT_LENGTH.search(buffer, position, header_end)
            body_start = header_end + 4
            body_end = body_start + (int(length[1]) if length else 0)
            if body_end > len(buffer):
                break
            if buffer.find(b'"id"', body_start, body_end) >= 0:
                found.append(bytes(buffer[body_start:body_end]))
            position = body_end
        del buffer[:position]
        return found


_CONTENT_LENGTH = re.compile(rb"content-length:[ \t]*(\d+)", re.IGNORECASE)


def _report(message: str) -> None:
    """One line on stderr, which editors show in their logs (``logging`` costs 5 ms to load)."""
    sys.stderr.write(f"chatd serve --shared: {message}\n")
    sys.stderr.flush()


def _read_stdin() -> bytes:
    try:
        return os.read(0, READ_CHUNK)
    except OSError:
        return b""


def _receive(daemon: socket.socket) -> bytes:
    try:
        return daemon.recv(READ_CHUNK)
    except OSError:
        return b""


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _reply_to(message: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": message["id"]}
