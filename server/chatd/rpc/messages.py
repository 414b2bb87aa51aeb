"""What a message must be before a front end (pygls, ACP) sees it; how every reply is encoded.

In front of pygls: a decoded body is checked for JSON-RPC shape, its id for being echoable,
its params normalised (``null`` and ``[]`` are absent params, as ``jsonrpc.el`` and Neovim
send them), and a response from the client rebuilt from its checked parts, so a malformed
``error`` fails the request it answers instead of raising inside pygls.

Behind everything: ``encode_reply`` is the only place a reply is encoded. It adds
``data.reason`` to errors that pygls built itself (its ``-32800`` for cancelled requests),
drops the tracebacks pygls attaches to internal errors, and answers an id that cannot be
echoed with ``id: null``.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from chatd.rpc import errors as codes
from chatd_client.framing import encode_frame, has_lone_surrogate

log = logging.getLogger(__name__)

REASONS = {
    codes.PARSE_ERROR: "parse_error",
    codes.INVALID_REQUEST: "invalid_request",
    codes.METHOD_NOT_FOUND: "method_not_found",
    codes.INVALID_PARAMS: "invalid_params",
    codes.INTERNAL_ERROR: "internal_error",
    codes.SERVER_NOT_INITIALIZED: "not_initialized",
    codes.REQUEST_CANCELLED: "cancelled",
}
"""The reason of an error pygls built without one, by its standard code."""

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
"""JSON-RPC error codes are integers; pygls (lsprotocol) refuses any outside 32 bits."""


class ParamsProblem(Exception):
    """Why a request's params are refused, with the field to name in ``data.field``."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def shape_problem(message: Any) -> str | None:
    """Why ``message`` is not a JSON-RPC 2.0 object we accept, or None."""
    if isinstance(message, list):
        return "batch requests are not supported: send one message at a time"
    if not isinstance(message, dict):
        return "a message must be a JSON object"
    if message.get("jsonrpc") != "2.0":
        return 'a message must have "jsonrpc": "2.0"'
    if "id" in message and not is_valid_id(message["id"]):
        return "id must be a string of Unicode text or a finite number"
    if "method" in message:
        if not isinstance(message["method"], str):
            return "method must be a string"
        if message.get("params") is not None and not isinstance(message["params"], (dict, list)):
            return "params must be an object or an array"
    elif "id" not in message or ("result" in message) == ("error" in message):
        return "a message needs a method, or an id with exactly one of result and error"
    return None


def is_valid_id(value: Any) -> bool:
    """A string we can write back as UTF-8, or a finite number (never a boolean)."""
    if isinstance(value, str):
        return not has_lone_surrogate(value)
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)


def echoable(request_id: Any) -> Any:
    return request_id if is_valid_id(request_id) else None


def request_params(message: dict[str, Any]) -> dict[str, Any] | None:
    """The request's params by name; ``null``, ``[]`` and absent all mean none.

    :raises ParamsProblem: positional params, or a string that is no Unicode text.
    """
    params = message.get("params")
    if params is None or params == []:
        return None
    if isinstance(params, list):
        raise ParamsProblem(
            "params must be given by name, as a JSON object, not by position as an array",
            "params",
        )
    assert isinstance(params, dict)
    for name, value in params.items():
        if has_lone_surrogate(name) or has_lone_surrogate(value):
            raise ParamsProblem(
                "a string in the params holds a lone surrogate (\\ud800-\\udfff), "
                "which is not Unicode text",
                name if not has_lone_surrogate(name) else "params",
            )
    return params


def checked_response(message: dict[str, Any]) -> dict[str, Any]:
    """A client's response rebuilt from checked parts: a malformed ``error`` becomes a
    well-formed one, so the request it answers fails instead of the connection."""
    base = {"jsonrpc": "2.0", "id": message["id"]}
    if "result" in message:
        return {**base, "result": message["result"]}
    error = message["error"]
    if (
        isinstance(error, dict)
        and type(error.get("code")) is int
        and INT32_MIN <= error["code"] <= INT32_MAX
        and isinstance(error.get("message"), str)
    ):
        return {**base, "error": {k: error[k] for k in ("code", "message", "data") if k in error}}
    log.warning("the client answered request %r with a malformed error", message["id"])
    return {
        **base,
        "error": codes.error_object(
            codes.INVALID_REQUEST,
            "the client answered with a malformed error object",
            "malformed_response",
        ),
    }


def encode_reply(message: dict[str, Any], default: Any = None) -> bytes:
    """Frame a message for the client; never raises, never sends what a strict parser refuses.

    A lone surrogate in its text (a hand-edited snapshot, a provider's broken escape) is sent
    as U+FFFD rather than losing the whole reply.
    """
    if isinstance(message.get("error"), dict):
        message = {**message, "error": _with_reason(message["error"])}
    try:
        return encode_frame(message, default)
    except ValueError:
        pass
    if "method" in message or is_valid_id(message.get("id")):
        try:
            return encode_frame(message, default, replace_lone_surrogates=True)
        except ValueError:
            pass  # a NaN or an infinity
    if "method" in message:
        log.error("dropped a %s notification that cannot be encoded", message["method"])
        return b""
    if not is_valid_id(message.get("id")):
        error = codes.error_object(
            codes.INVALID_REQUEST, "the request id cannot be written back", "invalid_request"
        )
        return encode_frame({"jsonrpc": "2.0", "id": None, "error": error})
    log.error("the reply to request %r cannot be encoded", message["id"])
    error = codes.error_object(codes.INTERNAL_ERROR, codes.INTERNAL_MESSAGE, "internal_error")
    return encode_frame({"jsonrpc": "2.0", "id": message["id"], "error": error})


def _with_reason(error: dict[str, Any]) -> dict[str, Any]:
    data = error.get("data")
    if isinstance(data, dict) and "reason" in data:
        return error
    code = error.get("code")
    if code == codes.INTERNAL_ERROR:
        return codes.error_object(code, codes.INTERNAL_MESSAGE, "internal_error")
    reason = REASONS.get(code, "internal_error") if isinstance(code, int) else "internal_error"
    return {**error, "data": {"reason": reason}}
