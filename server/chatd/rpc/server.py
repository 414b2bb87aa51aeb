"""One JSON-RPC connection: message checks, lifecycle, dispatch through a pygls protocol.

pygls runs each request as its own task and handles ``$/cancelRequest``; in front of it this
module does what pygls leaves undone: ``-32700`` for bad JSON and ``-32600`` for invalid
objects and batches (with ``id: null``), ``-32002`` before ``initialize``, ``-32600`` after
``shutdown``, duplicate in-flight ids, ``data.reason`` on every error, and no traceback ever
reaching the client (the checks themselves are in ``messages``). Each connection gets its own
protocol object, so clients are isolated.

Lifecycle follows wire order, not task order: a ``shutdown`` counts from its arrival, so an
``exit`` written right behind it (before its reply went out) still ends with status 0.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from chatd import errors
from chatd.core.events import TurnEvent
from chatd.core.manager import SessionManager
from chatd.core.session import Session
from chatd.rpc import errors as codes
from chatd.rpc import messages
from chatd.rpc.methods import Methods
from chatd.rpc.pygls_glue import make_protocol
from chatd.rpc.tool_host import ConnectionToolHost
from chatd.rpc.updates import update_params
from chatd_client.framing import BodyError, decode_body

log = logging.getLogger(__name__)

Handler = Callable[[Any], Awaitable[Any]]

FINISH_GRACE_S = 5.0
"""At shutdown, how long running requests (already cancelled) get to send their answers."""


class Writer(Protocol):
    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...

    async def flush_and_close(self) -> None: ...


@dataclass(frozen=True, kw_only=True)
class ServerContext:
    """What connections share: the sessions, and the daemon-wide controls."""

    manager: SessionManager
    encrypted: bool
    request_stop: Callable[[], None]
    status: Callable[[], dict[str, Any]]
    connections: set[Connection] = field(default_factory=set)


class Connection:
    def __init__(self, context: ServerContext, writer: Writer, *, name: str) -> None:
        self.context = context
        self.name = name
        self.writer = writer
        self.initialized = False
        self.shutdown_requested = False
        self.exit_code: int | None = None
        self._attached: dict[str, Session] = {}
        self.tool_host = ConnectionToolHost(self)
        methods = Methods(context, self)
        self.handlers: dict[str, Handler] = methods.table()
        self.protocol = make_protocol(
            writer,
            {method: self._guarded(handler) for method, handler in self.handlers.items()},
            notifications={"exit": lambda _: self._exit(), "initialized": lambda _: None},
        )
        context.connections.add(self)

    def receive(self, body: bytes) -> None:
        """Handle one frame's body; every request gets exactly one response."""
        try:
            message = decode_body(body)
        except BodyError as exc:
            self.send_error(None, codes.PARSE_ERROR, f"parse error: {exc.message}", "parse_error")
            return
        problem = messages.shape_problem(message)
        if problem is not None:
            request_id = message.get("id") if isinstance(message, dict) else None
            reason = "batch_not_supported" if isinstance(message, list) else "invalid_request"
            self.send_error(messages.echoable(request_id), codes.INVALID_REQUEST, problem, reason)
            return
        if "method" not in message:
            self._dispatch(messages.checked_response(message))
        elif "id" in message:
            self._request(message)
        else:
            self._notification(message)

    def framing_error(self, reason: str, message: str) -> None:
        self.send_error(None, codes.INVALID_REQUEST, message, reason)

    def send_error(
        self, request_id: Any, code: int, message: str, reason: str, **details: Any
    ) -> None:
        error = codes.error_object(code, message, reason, **details)
        reply = {"jsonrpc": "2.0", "id": request_id, "error": error}
        self.writer.write(messages.encode_reply(reply))

    def notify(self, method: str, params: Any) -> None:
        """Written directly: pygls would run every streamed delta through cattrs first."""
        reply = {"jsonrpc": "2.0", "method": method, "params": params}
        self.writer.write(messages.encode_reply(reply))

    def attach(self, session: Session) -> None:
        """Send this session's updates to this connection from now on."""
        if session.id not in self._attached or self._attached[session.id] is not session:
            session.listeners.add(self._forward)
            session.tools.clients.add(self.tool_host)
            self._attached[session.id] = session

    async def finish(self) -> None:
        """The daemon is stopping: let running requests answer, deliver, close."""
        running = [asyncio.wrap_future(f) for f in self.protocol._request_futures.values()]
        if running:
            await asyncio.wait(running, timeout=FINISH_GRACE_S)
        await self.writer.flush_and_close()

    async def close(self) -> None:
        """The client is gone: its running requests are cancelled (their turns end cancelled)."""
        self.tool_host.close()
        await asyncio.sleep(0)  # requests of the last read start, so they answer through _guarded
        running = [asyncio.wrap_future(f) for f in self.protocol._request_futures.values()]
        for future in running:
            future.cancel()
        if running:
            await asyncio.wait(running)
        for session in self._attached.values():
            session.listeners.discard(self._forward)
            session.tools.clients.discard(self.tool_host)
        self._attached.clear()
        self.context.connections.discard(self)

    def _forward(self, session_id: str, seq: int, event: TurnEvent) -> None:
        self.notify("chat/update", update_params(session_id, seq, event))

    def _request(self, message: dict[str, Any]) -> None:
        request_id, method = message["id"], message["method"]
        if request_id in self.protocol._request_futures:
            self.send_error(
                request_id,
                codes.INVALID_REQUEST,
                f"request id {request_id!r} is already in use by a running request",
                "duplicate_id",
            )
        elif method not in self.handlers:
            self.send_error(
                request_id, codes.METHOD_NOT_FOUND, f"unknown method {method!r}", "method_not_found"
            )
        elif method == "initialize" and self.initialized:
            self.send_error(
                request_id,
                codes.INVALID_REQUEST,
                "initialize was already called on this connection",
                "already_initialized",
            )
        elif self.shutdown_requested:
            self.send_error(
                request_id,
                codes.INVALID_REQUEST,
                "the connection is shutting down: only the exit notification is accepted",
                "shutting_down",
            )
        elif not self.initialized and method != "initialize":
            self.send_error(
                request_id,
                codes.SERVER_NOT_INITIALIZED,
                "send initialize before any other request",
                "not_initialized",
            )
        else:
            self._accept(request_id, method, message)

    def _accept(self, request_id: Any, method: str, message: dict[str, Any]) -> None:
        try:
            params = messages.request_params(message)
        except messages.ParamsProblem as problem:
            self.send_error(
                request_id,
                codes.INVALID_PARAMS,
                problem.message,
                "invalid_params",
                field=problem.field,
            )
            return
        if method == "shutdown":
            self.shutdown_requested = True
        self._dispatch({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})

    def _notification(self, message: dict[str, Any]) -> None:
        method = message["method"]
        if not self.initialized and method != "exit":
            return
        params = message.get("params")
        if method == "$/cancelRequest":
            if isinstance(params, dict) and messages.is_valid_id(params.get("id")):
                self._dispatch({"jsonrpc": "2.0", "method": method, "params": {"id": params["id"]}})
        elif method in ("exit", "initialized"):
            self._dispatch({"jsonrpc": "2.0", "method": method, "params": None})

    def _dispatch(self, message: dict[str, Any]) -> None:
        """Hand a checked message, rebuilt from its known keys only, to pygls."""
        self.protocol.handle_message(self.protocol.structure_message(message))

    def _exit(self) -> None:
        """Stop reading; the transport then answers what is running and closes."""
        self.exit_code = 0 if self.shutdown_requested else 1

    def _guarded(self, handler: Handler) -> Handler:
        """Errors become JSON-RPC errors with a reason; tracebacks stay in our log."""
        from pygls.exceptions import JsonRpcException

        @functools.wraps(handler)
        async def run(params: Any) -> Any:
            try:
                return await handler(params)
            except errors.ChatdError as exc:
                raise JsonRpcException(**codes.chatd_error_object(exc)) from None
            except asyncio.CancelledError:
                raise JsonRpcException(
                    **codes.error_object(codes.REQUEST_CANCELLED, "request cancelled", "cancelled")
                ) from None
            except Exception:
                log.exception("internal error in %s", handler.__name__)
                raise JsonRpcException(
                    **codes.error_object(
                        codes.INTERNAL_ERROR, codes.INTERNAL_MESSAGE, "internal_error"
                    )
                ) from None

        return run
