"""The pygls side of a connection: a JSON-RPC protocol object with plain-dict params.

pygls's default converter turns params into namedtuples (which serialise as lists) and
its ``$/cancelRequest`` handling reads ``params.id``; both are fixed here. What pygls writes
(results, and errors it builds itself, such as ``-32800`` for a cancelled request) goes through
``encode_reply`` like every other reply, so it gets ``data.reason`` and strict JSON. Its
loggers are kept quiet: they would log message bodies (prompts) and tracebacks of expected
errors.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import cattrs
from lsprotocol import types as lsp
from pygls.protocol import JsonRPCProtocol, default_converter
from pygls.protocol.json_rpc import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
)
from pygls.server import JsonRPCServer

from chatd.rpc.messages import encode_reply

logging.getLogger("pygls").setLevel(logging.CRITICAL)


class DaemonProtocol(JsonRPCProtocol):
    def get_message_type(self, method: str) -> Any:
        return lsp.CancelNotification if method == lsp.CANCEL_REQUEST else None

    def _send_data(self, data: Any) -> None:
        if data and self.writer is not None:
            message = data if isinstance(data, dict) else self._converter.unstructure(data)
            self.writer.write(encode_reply(message, default=self._serialize_message))


@functools.cache
def _dict_converter() -> cattrs.Converter:
    """One for all connections: building it (lsprotocol registers hooks for every LSP type)
    took 8–20 ms of the event loop, which each new connection paid before its first frame."""
    converter: cattrs.Converter = default_converter()  # type: ignore[no-untyped-call]
    for message_type in (JsonRPCRequestMessage, JsonRPCNotification, JsonRPCResponseMessage):
        converter.register_structure_hook(message_type, lambda obj, cls: cls(**obj))
    return converter


class _QuietServer(JsonRPCServer):
    def report_server_error(self, error: Exception, source: Any) -> None:
        """Handler errors were already answered and logged by the connection."""


def make_protocol(
    writer: Any,
    requests: Mapping[str, Callable[[Any], Awaitable[Any]]],
    *,
    notifications: Mapping[str, Callable[[Any], None]],
) -> JsonRPCProtocol:
    server = _QuietServer(DaemonProtocol, _dict_converter)
    for method, handler in {**requests, **notifications}.items():
        server.feature(method)(handler)
    server.protocol.set_writer(writer)
    return server.protocol
