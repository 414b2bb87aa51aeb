"""MCP servers (placeholder until the SDK client lands)."""

from __future__ import annotations

from typing import Any

from chatd.core.store.base import ToolSpec
from chatd.core.tools.host import HostFailure, HostReply
from chatd.mcp_settings import McpSettings


class McpServers:
    def __init__(self, settings: McpSettings) -> None:
        self.settings = settings

    async def tools(self, server: str) -> list[ToolSpec]:
        raise HostFailure(f"MCP server {server} is not supported yet")

    def running(self, server: str) -> bool:
        return False

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> HostReply:
        raise HostFailure(f"MCP server {server} is not supported yet")

    async def aclose(self) -> None:
        pass
