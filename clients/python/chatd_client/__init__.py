"""A small client for the chatd daemon: connect to its socket or spawn it over stdio."""

from chatd_client.client import Client, ConnectionLost, RpcError, daemon_command
from chatd_client.framing import encode_frame
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
