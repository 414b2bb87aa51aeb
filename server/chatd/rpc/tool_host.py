"""A connection as the core's ``ToolHost``: ``tool/call`` and ``tool/approve`` to the client.

Requests go out through the connection's pygls protocol, so its responses are matched (and
checked) like any other. Every way a request can fail becomes ``HostFailure``, which the core
turns into an error result for the model: an error reply, a malformed result, the connection
closing. Cancelling the waiting coroutine (the turn was cancelled, the tool timed out) sends
``$/cancelRequest`` for it.
"""

from __future__ import annotations

import itertools
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

import anyio

from chatd.core.providers.base import ToolCall
from chatd.core.tools.host import APPROVAL_OPTIONS, HostFailure, HostReply

if TYPE_CHECKING:
    from chatd.rpc.server import Connection

MAX_ERROR_TEXT = 2000
"""A client's error message reaches the model; a page of it is plenty."""

GONE = "the client hosting this tool disconnected before it answered"


class ConnectionToolHost:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._ids = itertools.count(1)
        self._closed = False

    @property
    def open(self) -> bool:
        return not self._closed

    def close(self) -> None:
        self._closed = True

    async def call_tool(self, session_id: str, call: ToolCall) -> HostReply:
        result = await self._request("tool/call", _call_params(session_id, call))
        if not isinstance(result, dict) or "content" not in result:
            raise HostFailure("the client's tool/call reply had no content (malformed reply)")
        is_error = result.get("isError", False)
        if not isinstance(is_error, bool):
            raise HostFailure("the client's tool/call reply had a non-boolean isError")
        return HostReply(result["content"], is_error)

    async def approve(self, session_id: str, call: ToolCall) -> str:
        params = {**_call_params(session_id, call), "options": list(APPROVAL_OPTIONS)}
        result = await self._request("tool/approve", params)
        decision = result.get("decision") if isinstance(result, dict) else None
        if decision not in APPROVAL_OPTIONS:
            raise HostFailure("the client's tool/approve reply had no valid decision")
        return str(decision)

    async def _request(self, method: str, params: dict[str, Any]) -> Any:
        if self._closed:
            raise HostFailure(GONE)
        protocol = self._connection.protocol
        request_id = f"chatd-{method}-{next(self._ids)}"
        answered = anyio.Event()
        future: Future[Any] = protocol.send_request(method, params, msg_id=request_id)
        future.add_done_callback(lambda _: answered.set())
        try:
            await answered.wait()
        except anyio.get_cancelled_exc_class():
            if protocol._request_futures.pop(request_id, None) is not None and not self._closed:
                self._connection.notify("$/cancelRequest", {"id": request_id})
            raise
        if future.cancelled():
            raise HostFailure(GONE)
        error = future.exception()
        if error is not None:
            message = str(getattr(error, "message", "") or error)[:MAX_ERROR_TEXT]
            raise HostFailure(f"the client answered {method} with an error: {message}")
        return future.result()


def _call_params(session_id: str, call: ToolCall) -> dict[str, Any]:
    return {
        "sessionId": session_id,
        "callId": call.id,
        "name": call.name,
        "arguments": call.arguments,
    }
