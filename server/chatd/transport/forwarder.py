"""``chatd serve --stdio --shared``: the editor attached to the per-user socket daemon.

Editors attach to one long-running daemon instead of paying a cold start each and holding
private copies of a conversation. The forwarder starts the daemon if none runs (under a lock,
``transport.autostart``), then hands the editor's stdin and stdout over to it
(``transport.handoff``): the daemon reads and writes the editor's pipes itself, so every
frame, server→client requests included, passes exactly as on a private daemon and no process
in between copies it. The forwarder stays, waiting, as the editor's child: it ends with the
LSP exit status when the daemon is done with the editor, and with 1 if the daemon dies.

When there is no daemon to hand over to, the forwarder answers the editor itself, so the
editor sees why: ``daemon_unreachable`` (it could not be started; the daemon's own words), or
``version_mismatch`` (it runs another chatd version; ``chatd stop`` fixes it). Every request
gets that error, ``shutdown`` its ``null`` result, and ``exit`` ends the forwarder.

It imports neither asyncio, pygls, an SDK nor the store: it starts in a few tens of ms.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import chatd
from chatd.config import Settings
from chatd.rpc import errors as codes
from chatd.transport.autostart import DaemonUnreachable, connect_or_start
from chatd.transport.handoff import Refused, hand_over
from chatd_client.framing import Frame, FrameParser, encode_frame

READ_CHUNK = 64 * 1024


def forward_stdio(settings: Settings) -> int:
    """Serve the editor on stdio through the shared daemon; returns the exit status."""
    socket_path = settings.daemon.socket_path
    try:
        outcome = hand_over(socket_path)
        if outcome == Refused(None):  # no daemon listens (or one too old): start one
            connect_or_start(socket_path, settings.config_path).close()
            outcome = hand_over(socket_path)
    except (DaemonUnreachable, OSError) as exc:
        _report(str(exc))
        refusal = codes.error_object(
            codes.FORWARDER_DAEMON_UNAVAILABLE,
            str(exc),
            "daemon_unreachable",
            socket=str(socket_path),
        )
    else:
        if not isinstance(outcome, Refused):
            return outcome
        refusal = _version_mismatch(socket_path, outcome.daemon_version)
    return answer_alone(refusal, settings.daemon.max_frame_bytes)


def answer_alone(refusal: dict[str, Any], max_frame: int) -> int:
    """Answer every request with ``refusal`` until ``exit`` or EOF; the LSP exit status."""
    parser = FrameParser(max_frame)
    shutdown_requested = False
    while chunk := _read_stdin():
        parser.feed(chunk)
        while (event := parser.next_event()) is not None:
            message = _decode(event.body) if isinstance(event, Frame) else None
            if not isinstance(message, dict) or not isinstance(message.get("method"), str):
                continue
            method = message["method"]
            if method == "exit":
                return 0 if shutdown_requested else 1
            shutdown_requested = shutdown_requested or method == "shutdown"
            if "id" in message:
                reply: dict[str, Any] = {"jsonrpc": "2.0", "id": message["id"]}
                reply.update({"result": None} if method == "shutdown" else {"error": refusal})
                if not _write_editor(encode_frame(reply)):
                    return 0
    return 0


def _version_mismatch(socket_path: Path, theirs: str | None) -> dict[str, Any]:
    message = (
        f"the chatd daemon on {socket_path} runs version {theirs or 'unknown (older)'}, "
        f"but this editor started chatd {chatd.__version__}: run `chatd stop` (it saves "
        "every conversation), then retry; the next command starts the new version"
    )
    _report(message)
    return codes.error_object(
        codes.FORWARDER_VERSION_MISMATCH,
        message,
        "version_mismatch",
        daemonVersion=theirs,
        forwarderVersion=chatd.__version__,
        socket=str(socket_path),
    )


def _report(message: str) -> None:
    """One line on stderr, which editors show in their logs (``logging`` costs 5 ms to load)."""
    sys.stderr.write(f"chatd serve --shared: {message}\n")
    sys.stderr.flush()


def _read_stdin() -> bytes:
    try:
        return os.read(0, READ_CHUNK)
    except OSError:
        return b""


def _write_editor(data: bytes) -> bool:
    """False when the editor is gone."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(1, view) :]
    except OSError:
        return False
    return True


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None
