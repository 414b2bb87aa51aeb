"""One ACP client on stdio: message checks, one task per request, cancellation, replies.

Written here rather than taken from the ACP SDK's agent side, which logs and drops a
malformed line (chatd answers ``-32700``, as the TypeScript SDK does) and serves
``session/resume`` / ``session/close`` only behind its unstable flag, although both are
stable in v1. Every request gets exactly one response; no traceback reaches the client.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from chatd import errors
from chatd.acp import errors as codes
from chatd.acp.framing import Oversize, encode_line, update_line
from chatd.acp.updates import LiveUpdates
from chatd.core.events import TurnEvent
from chatd.core.session import Session
from chatd.rpc.messages import echoable, shape_problem
from chatd_client.framing import BodyError, decode_body, has_lone_surrogate

log = logging.getLogger(__name__)

Handler = Callable[[Any], Coroutine[Any, Any, Any]]
NotificationHandler = Callable[[Any], Coroutine[Any, Any, None]]


class Writer(Protocol):
    def write(self, data: bytes) -> None: ...


class ClientRequestFailed(Exception):
    """The client answered one of our requests with an error object."""

    def __init__(self, error: Any) -> None:
        super().__init__(str(error))
        self.error = error


class AcpConnection:
    """Dispatches to ``handlers``; sends ``session/update`` for every attached session.

    ``request`` is how a core interface implemented by this front end asks the client
    something (``session/request_permission``, ``fs/read_text_file``) and awaits the answer.
    """

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.handlers: dict[str, Handler] = {}
        self.notifications: dict[str, NotificationHandler] = {"$/cancel_request": self._cancel}
        self._running: dict[Any, asyncio.Task[None]] = {}
        self._awaiting: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 0
        self._attached: dict[str, tuple[Session, LiveUpdates]] = {}

    def receive(self, line: bytes | Oversize) -> None:
        """Handle one line; a request's answer is written when its task ends."""
        if isinstance(line, Oversize):
            message = f"message longer than {line.limit} bytes: dropped"
            self._error(None, codes.INVALID_REQUEST, message, "message_too_large")
            return
        try:
            message = decode_body(line)
        except BodyError as exc:
            self._error(None, codes.PARSE_ERROR, f"parse error: {exc.message}", "parse_error")
            return
        problem = shape_problem(message)
        if problem is not None:
            request_id = echoable(message.get("id") if isinstance(message, dict) else None)
            self._error(request_id, codes.INVALID_REQUEST, problem, "invalid_request")
        elif "method" not in message:
            self._answered(message)
        elif "id" in message:
            self._request(message["id"], message["method"], message.get("params"))
        else:
            self._notification(message["method"], message.get("params"))

    def notify(self, method: str, params: Any) -> None:
        self.writer.write(encode_line({"jsonrpc": "2.0", "method": method, "params": params}))

    def update(self, session_id: str, update: dict[str, Any]) -> None:
        self.writer.write(update_line(session_id, update))

    async def request(self, method: str, params: Any) -> Any:
        """Ask the client; its result, or ``ClientRequestFailed`` with its error."""
        self._next_id += 1
        request_id = self._next_id
        answer = self._awaiting[request_id] = asyncio.get_running_loop().create_future()
        self.writer.write(
            encode_line({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        )
        try:
            return await answer
        except asyncio.CancelledError:
            self.notify("$/cancel_request", {"requestId": request_id})
            raise
        finally:
            self._awaiting.pop(request_id, None)

    def attach(self, session: Session) -> None:
        """Stream this session's turn events to the client from now on."""
        attached = self._attached.get(session.id)
        if attached is not None and attached[0] is session:
            return
        if attached is not None:
            attached[0].listeners.discard(self._forward)
        session.listeners.add(self._forward)
        self._attached[session.id] = (session, LiveUpdates())

    @property
    def attached(self) -> set[str]:
        return set(self._attached)

    def detach(self, session_id: str) -> None:
        attached = self._attached.pop(session_id, None)
        if attached is not None:
            attached[0].listeners.discard(self._forward)

    async def _cancel(self, params: Any) -> None:
        """``$/cancel_request``: the request answers -32800 (a prompt: stopReason cancelled);
        one already answered, or unknown, is ignored."""
        task = self._running.get(params.get("requestId")) if isinstance(params, dict) else None
        if task is not None:
            task.cancel()

    async def close(self) -> None:
        """The client is gone: cancel its requests and wait for them to wind down."""
        running = list(self._running.values())
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running)
        for session_id in list(self._attached):
            self.detach(session_id)
        for answer in self._awaiting.values():
            if not answer.done():
                answer.set_exception(ClientRequestFailed({"message": "the client disconnected"}))

    def _forward(self, session_id: str, seq: int, event: TurnEvent) -> None:
        attached = self._attached.get(session_id)
        if attached is not None:
            for update in attached[1].of(event):
                self.update(session_id, update)

    def _request(self, request_id: Any, method: str, params: Any) -> None:
        handler = self.handlers.get(method)
        if request_id in self._running:
            message = f"request id {request_id!r} is already in use by a running request"
            self._error(request_id, codes.INVALID_REQUEST, message, "duplicate_id")
        elif handler is None:
            message = f"unknown method {method!r}"
            self._error(request_id, codes.METHOD_NOT_FOUND, message, "method_not_found")
        elif has_lone_surrogate(params):  # valid JSON, but no text a provider or file can take
            message = "a string in the params holds a lone surrogate (\\ud800-\\udfff)"
            self._error(request_id, codes.INVALID_PARAMS, message, "invalid_params")
        else:
            task = asyncio.get_running_loop().create_task(self._run(request_id, handler, params))
            self._running[request_id] = task

    async def _run(self, request_id: Any, handler: Handler, params: Any) -> None:
        try:
            result = await handler(params)
        except errors.ChatdError as exc:
            self._reply(request_id, error=codes.chatd_error_object(exc))
        except asyncio.CancelledError:
            self._reply(request_id, error=codes.cancelled_error())
        except Exception:
            log.exception("internal error in %s", getattr(handler, "__name__", handler))
            self._reply(request_id, error=codes.internal_error())
        else:
            self._reply(request_id, result=result)
        finally:
            self._running.pop(request_id, None)

    def _notification(self, method: str, params: Any) -> None:
        handler = self.notifications.get(method)
        if handler is None:
            return  # unknown notifications are ignored, as ACP requires
        task = asyncio.get_running_loop().create_task(handler(params))
        task.add_done_callback(_log_failure)

    def _answered(self, message: dict[str, Any]) -> None:
        answer = self._awaiting.get(message["id"])
        if answer is None or answer.done():
            log.info("dropping a response to unknown request %r", message["id"])
        elif "error" in message:
            answer.set_exception(ClientRequestFailed(message["error"]))
        else:
            answer.set_result(message.get("result"))

    def _reply(self, request_id: Any, *, result: Any = None, error: Any = None) -> None:
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
        if error is not None:
            reply["error"] = error
        else:
            reply["result"] = result
        self.writer.write(encode_line(reply))

    def _error(self, request_id: Any, code: int, message: str, reason: str) -> None:
        self._reply(request_id, error=codes.error_object(code, message, reason))


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        if not isinstance(exc, errors.ChatdError):
            log.error("notification handler failed", exc_info=exc)
