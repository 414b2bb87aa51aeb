"""The one table from chatd failures to JSON-RPC error objects (documented in docs/protocol.md).

Standard codes keep their JSON-RPC and LSP meaning; daemon conditions use -32010…-32049,
the shared-daemon forwarder -32050…-32059.
Every error carries ``data.reason``, a stable machine-readable string.
"""

from __future__ import annotations

from typing import Any

from chatd import errors

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_NOT_INITIALIZED = -32002
REQUEST_CANCELLED = -32800
FORWARDER_VERSION_MISMATCH = -32050
"""``chatd serve --stdio --shared`` met a daemon running another chatd version."""
FORWARDER_DAEMON_UNAVAILABLE = -32051
"""The forwarder could not reach or start the daemon."""

CODES: dict[type[errors.ChatdError], int] = {
    errors.SessionNotFound: -32010,
    errors.SessionBusy: -32011,
    errors.SnapshotNotFound: -32020,
    errors.InvalidSnapshotId: -32021,
    errors.DecryptionFailed: -32022,
    errors.CorruptSnapshot: -32023,
    errors.StoreConflict: -32024,
    errors.UnsupportedVersion: -32025,
    errors.StoreError: -32026,
    errors.ProviderUnavailable: -32030,
    errors.ProviderMismatch: -32031,
    errors.PersistenceUnsupported: -32032,
    errors.ProviderFailure: -32033,
    errors.ProviderError: -32033,
    errors.InvalidAnswer: -32034,
    errors.ConfigError: -32040,
    errors.InvalidParams: INVALID_PARAMS,
}

INTERNAL_MESSAGE = "internal error in chatd; the daemon log has the details"


def error_object(code: int, message: str, reason: str, **details: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "data": {"reason": reason, **details}}


def code_for(exc: errors.ChatdError) -> int:
    """The code of the nearest class in ``exc``'s MRO that has one."""
    for cls in type(exc).__mro__:
        if cls in CODES:
            return CODES[cls]
    return INTERNAL_ERROR


def chatd_error_object(exc: errors.ChatdError) -> dict[str, Any]:
    return error_object(code_for(exc), exc.message, exc.reason, **exc.details())
