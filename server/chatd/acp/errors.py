"""chatd failures as ACP error objects: the one table for this front end.

ACP keeps JSON-RPC's standard codes and adds -32002 (resource not found: an unknown session)
and -32800 (request cancelled). Other daemon conditions keep the codes of docs/protocol.md.
Every error carries ``data.reason``, as on the LSP-framed protocol.
"""

from __future__ import annotations

from typing import Any

from chatd import errors
from chatd.rpc import errors as rpc_codes

PARSE_ERROR = rpc_codes.PARSE_ERROR
INVALID_REQUEST = rpc_codes.INVALID_REQUEST
METHOD_NOT_FOUND = rpc_codes.METHOD_NOT_FOUND
INVALID_PARAMS = rpc_codes.INVALID_PARAMS
INTERNAL_ERROR = rpc_codes.INTERNAL_ERROR
RESOURCE_NOT_FOUND = -32002
REQUEST_CANCELLED = rpc_codes.REQUEST_CANCELLED

ACP_CODES: dict[type[errors.ChatdError], int] = {
    errors.SessionNotFound: RESOURCE_NOT_FOUND,
    errors.SnapshotNotFound: RESOURCE_NOT_FOUND,
    errors.InvalidSnapshotId: RESOURCE_NOT_FOUND,
    errors.InvalidParams: INVALID_PARAMS,
    errors.ProviderMismatch: INVALID_PARAMS,
}
"""Where ACP has a meaning of its own; everything else keeps its chatd code."""

error_object = rpc_codes.error_object


def code_for(exc: errors.ChatdError) -> int:
    for cls in type(exc).__mro__:
        if cls in ACP_CODES:
            return ACP_CODES[cls]
    return rpc_codes.code_for(exc)


def chatd_error_object(exc: errors.ChatdError) -> dict[str, Any]:
    return error_object(code_for(exc), exc.message, exc.reason, **exc.details())


def cancelled_error() -> dict[str, Any]:
    return error_object(REQUEST_CANCELLED, "request cancelled", "cancelled")


def internal_error() -> dict[str, Any]:
    return error_object(INTERNAL_ERROR, rpc_codes.INTERNAL_MESSAGE, "internal_error")
