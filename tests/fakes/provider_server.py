"""A scriptable fake of the Anthropic, OpenAI and Gemini HTTP APIs on 127.0.0.1.

Tests queue provider-neutral replies (``Reply``, ``Fail``); the server renders each in the
wire format of whichever API the request came for, as JSON or as a stream (SSE with
``event:`` lines for Anthropic, ``chat.completion.chunk`` + ``[DONE]`` for OpenAI,
``alt=sse`` chunks for Gemini), and records every request (path, headers, JSON body).
Streams use chunked transfer encoding so connections stay alive, like the real APIs.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.replies import Call, Fail, Reply, Thought
from tests.fakes.wire_formats import (
    RENDER_JSON,
    RENDER_STREAM,
    Event,
    error_body,
    error_headers,
    is_text_delta,
)

__all__ = ["Call", "Fail", "FakeProviderServer", "Recorded", "Reply", "Thought"]

SHUTDOWN_POLL_S = 0.02
"""How often the serving loop checks for shutdown; the default 0.5 s slows every test."""

HOLD_TIMEOUT_S = 30.0
"""A held stream gives up after this, so a failed test never leaves a thread behind."""


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any

    @property
    def wire(self) -> str:
        return _wire(self.path)


def _wire(path: str) -> str:
    if path.endswith("/messages"):
        return "anthropic"
    if path.endswith("/chat/completions"):
        return "openai"
    if ":generateContent" in path or ":streamGenerateContent" in path:
        return "gemini"
    return "unknown"


class FakeProviderServer:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._queue: deque[Reply | Fail] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._httpd = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def _serve(self) -> None:
        self._httpd.serve_forever(poll_interval=SHUTDOWN_POLL_S)

    def start(self) -> FakeProviderServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def script(self, *replies: Reply | Fail) -> None:
        with self._lock:
            self._queue.extend(replies)

    def bodies(self) -> list[Any]:
        return [request.body for request in self.requests]

    def next_reply(self, request: Recorded) -> Reply | Fail:
        with self._lock:
            self.requests.append(request)
            if self._queue:
                return self._queue.popleft()
        return Fail(500, "the test scripted no reply for this request")

    def new_id(self) -> int:
        return next(self._ids)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client dropping its keep-alive connection is normal here; anything else is not."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(server: FakeProviderServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        fake = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    fake: FakeProviderServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else keep-alive requests stall ~40 ms (delayed ACK)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows failures, not access logs."""

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        request = Recorded(
            method="POST",
            path=split.path,
            query=parse_qs(split.query),
            headers={key.lower(): value for key, value in self.headers.items()},
            body=json.loads(raw) if raw else None,
        )
        if request.wire == "unknown":
            self._send_json(404, {"error": {"message": f"no such API path {split.path}"}}, {})
            return
        reply = self.fake.next_reply(request)
        try:
            self._answer(request, reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client hung up (cancelled, or a helper closed early)

    def _answer(self, request: Recorded, reply: Reply | Fail) -> None:
        wire = request.wire
        streaming = wire == "gemini" and "streamGenerateContent" in request.path
        streaming = streaming or (
            isinstance(request.body, dict) and bool(request.body.get("stream"))
        )
        if isinstance(reply, Fail):
            if reply.mid_stream and streaming and wire == "anthropic":
                self._stream(reply, [("error", error_body(wire, reply))], wire)
            else:
                self._send_json(reply.status, error_body(wire, reply), error_headers(reply))
            return
        ident = self.fake.new_id()
        model = _model(request)
        if not streaming:
            self._send_json(200, RENDER_JSON[wire](reply, ident, model), {})
            return
        self._stream(reply, RENDER_STREAM[wire](reply, ident, model, request.body), wire)

    def _send_json(self, status: int, body: Any, headers: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, reply: Reply | Fail, events: list[Event], wire: str) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", "req_stream")
        self.end_headers()
        held = False
        for count, (event, data) in enumerate(events):
            if isinstance(reply, Reply):
                if reply.break_after is not None and count >= reply.break_after:
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if reply.delay_s and count:
                    time.sleep(reply.delay_s)
            payload = data if isinstance(data, str) else json.dumps(data)
            text = (f"event: {event}\n" if event else "") + f"data: {payload}\n\n"
            self._chunk(text.encode())
            if isinstance(reply, Reply) and reply.hold is not None and not held:
                if is_text_delta(wire, data):
                    held = True
                    reply.hold.wait(HOLD_TIMEOUT_S)
        self._chunk(b"")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def _model(request: Recorded) -> str:
    if isinstance(request.body, dict) and "model" in request.body:
        return str(request.body["model"])
    return request.path.rsplit("/", 1)[-1].split(":")[0]
