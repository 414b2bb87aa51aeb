"""A small client for the chatd daemon: connect to its socket or spawn it over stdio.

The clients are imported on first use, so ``chatd_client.framing`` alone stays free of
asyncio (the ``--shared`` forwarder starts in a few tens of milliseconds).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from chatd_client.framing import encode_frame

if TYPE_CHECKING:
    from chatd_client.client import Client, daemon_command
    from chatd_client.errors import ConnectionLost, RpcError
    from chatd_client.sync import SyncClient
    from chatd_client.tools import Toolbox, ToolError

__version__ = "0.1.0"

__all__ = [
    "Client",
    "ConnectionLost",
    "RpcError",
    "SyncClient",
    "ToolError",
    "Toolbox",
    "__version__",
    "daemon_command",
    "encode_frame",
]

_LAZY = {
    "Client": "chatd_client.client",
    "ConnectionLost": "chatd_client.errors",
    "RpcError": "chatd_client.errors",
    "daemon_command": "chatd_client.client",
    "SyncClient": "chatd_client.sync",
    "Toolbox": "chatd_client.tools",
    "ToolError": "chatd_client.tools",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'chatd_client' has no attribute {name!r}")
