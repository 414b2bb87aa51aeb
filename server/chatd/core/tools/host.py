"""What the core needs from a client that hosts tools or answers approvals.

The rpc layer implements ``ToolHost`` over JSON-RPC (``tool/call``, ``tool/approve``); the
ACP front end can implement it over ACP. The core never learns how the request travels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from chatd.core.providers.base import ToolCall
from chatd.core.store.base import ToolSpec

APPROVAL_OPTIONS = ("allow_once", "allow_always", "reject_once", "reject_always")
"""ACP's four permission kinds, so an ACP front end maps them one to one."""


class HostFailure(Exception):
    """The host could not answer: an error reply, a malformed reply, or it went away.

    ``message`` is shown to the model as the tool's error result.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class HostReply:
    content: Any
    """A string, or any JSON value (sent to the model as JSON text)."""
    is_error: bool = False


class ToolHost(Protocol):
    """One client connection, seen from the core."""

    @property
    def open(self) -> bool:
        """False once the connection has closed; its tools are then unavailable."""

    async def call_tool(self, session_id: str, call: ToolCall) -> HostReply:
        """Run ``call`` on the client; cancelling this coroutine cancels the client's work.

        :raises HostFailure:
        """

    async def approve(self, session_id: str, call: ToolCall) -> str:
        """Ask the user; returns one of ``APPROVAL_OPTIONS``.

        :raises HostFailure:
        """


class ToolServers(Protocol):
    """The daemon's MCP servers, seen from a session (``core.tools.mcp`` implements it)."""

    async def tools(self, server: str) -> list[ToolSpec]:
        """The server's tools as ``<server>__<tool>`` specs, starting the server if needed.

        :raises HostFailure: it is not configured, does not start, or does not list tools.
        """

    def running(self, server: str) -> bool: ...

    def status(self, server: str) -> tuple[str, str | None]:
        """(``running`` | ``stopped`` | ``failed``, why it failed)."""

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> HostReply:
        """:raises HostFailure:"""
