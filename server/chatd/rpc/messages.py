"""What a JSON-RPC 2.0 message must look like, for every front end (LSP-framed and ACP)."""

from __future__ import annotations

from typing import Any


def shape_problem(message: Any) -> str | None:
    """Why ``message`` is not a JSON-RPC 2.0 object we accept, or None."""
    if isinstance(message, list):
        return "batch requests are not supported: send one message at a time"
    if not isinstance(message, dict):
        return "a message must be a JSON object"
    if message.get("jsonrpc") != "2.0":
        return 'a message must have "jsonrpc": "2.0"'
    if "id" in message and not is_valid_id(message["id"]):
        return "id must be a string or a number"
    if "method" in message:
        if not isinstance(message["method"], str):
            return "method must be a string"
        if "params" in message and not isinstance(message["params"], (dict, list)):
            return "params must be an object or an array"
    elif "id" not in message or ("result" in message) == ("error" in message):
        return "a message needs a method, or an id with exactly one of result and error"
    return None


def is_valid_id(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def echoable(request_id: Any) -> Any:
    """``request_id`` if it can be sent back in an error, else null."""
    return request_id if is_valid_id(request_id) else None
