"""What every session's tools share: in-process tools, MCP servers, remembered approvals."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import anyio

from chatd.config import Settings
from chatd.core.store.base import Snapshot, ToolSpec
from chatd.core.tools.host import ToolHost
from chatd.core.tools.policies import Policy, PolicyStore
from chatd.core.tools.registry import ToolRegistry
from chatd.core.tools.session_tools import SessionTools
from chatd.core.tools.specs import checked_specs
from chatd.errors import InvalidParams
from chatd.mcp_settings import McpServerSettings, McpSettings

if TYPE_CHECKING:
    from chatd.core.tools.mcp import McpServers

log = logging.getLogger(__name__)

WORKSPACE_KEY = "workspace"
"""The snapshot metadata key holding a session's workspace (approval policies are per it)."""

MCP_SERVERS_KEY = "mcp_servers"
"""The snapshot key (beside the reference's) listing the MCP servers a session enabled."""


class ToolService:
    def __init__(self, settings: Settings, builtin: ToolRegistry | None = None) -> None:
        self.builtin = builtin or ToolRegistry()
        self.policies = PolicyStore(settings.policy_file) if settings.policy_file else None
        mcp = settings.mcp
        self.configured_servers = tuple(mcp.servers) if mcp else ()
        self.default_servers = mcp.default_servers if mcp else ()
        self.servers: McpServers | None = None
        if mcp and mcp.servers:
            from chatd.core.tools.mcp import McpServers

            self.servers = McpServers(mcp)

    def for_session(
        self,
        session_id: str,
        *,
        specs: Sequence[ToolSpec] = (),
        mcp_servers: Sequence[str] | None = None,
        workspace: str = "",
    ) -> SessionTools:
        """:raises InvalidParams: an MCP server that is not configured."""
        servers = self.default_servers if mcp_servers is None else tuple(mcp_servers)
        self.check_servers(servers)
        return SessionTools(
            session_id,
            specs=specs,
            builtin=self.builtin,
            servers=self.servers,
            mcp_servers=servers,
            policies=self.policies,
            workspace=workspace,
        )

    def for_snapshot(self, snapshot: Snapshot) -> SessionTools:
        saved = snapshot.extra.get(MCP_SERVERS_KEY)
        enabled = [name for name in saved or () if name in self.configured_servers]
        return SessionTools(
            snapshot.id,
            specs=snapshot.tools,
            builtin=self.builtin,
            servers=self.servers,
            mcp_servers=enabled if isinstance(saved, list) else (),
            policies=self.policies,
            workspace=snapshot.metadata.get(WORKSPACE_KEY, ""),
        )

    def update(
        self,
        tools: SessionTools,
        specs: Sequence[ToolSpec] | None,
        host: ToolHost | None,
        mcp_servers: Sequence[str] | None = None,
    ) -> None:
        """Register a client's tools (re-binding saved ones by name) and enable MCP servers.

        :raises InvalidParams:
        """
        if mcp_servers is not None:
            self.check_servers(mcp_servers)
            tools.mcp_servers = tuple(dict.fromkeys((*tools.mcp_servers, *mcp_servers)))
        if specs and host is not None:
            tools.register(checked_specs(specs), host)

    def add_client_servers(
        self, tools: SessionTools, definitions: Sequence[McpServerSettings]
    ) -> list[str]:
        """Enable MCP servers a client defined (ACP's ``mcpServers``) for this session; the
        names it enabled. A configured server's name stays the configured server's."""
        enabled = []
        for settings in definitions:
            if settings.name in self.configured_servers:
                log.warning(
                    "the client's MCP server %s has a configured name; skipped", settings.name
                )
                continue
            if self.servers is None:
                from chatd.core.tools.mcp import McpServers

                self.servers = McpServers(McpSettings())
            self.servers.define(settings)
            enabled.append(settings.name)
        if enabled:
            tools.servers = self.servers
            tools.mcp_servers = tuple(dict.fromkeys((*tools.mcp_servers, *enabled)))
        return enabled

    def check_servers(self, names: Sequence[str]) -> None:
        unknown = [name for name in names if name not in self.configured_servers]
        if unknown:
            known = ", ".join(self.configured_servers) or "none"
            raise InvalidParams(
                f"unknown MCP server {unknown[0]!r}; configured: {known}", field="mcpServers"
            )

    async def list_policies(self, workspace: str | None) -> list[Policy]:
        if self.policies is None:
            return []
        return await anyio.to_thread.run_sync(self.policies.list, workspace)

    async def revoke_policy(self, workspace: str, tool: str) -> bool:
        """:raises ConfigError: the policy file cannot be written."""
        if self.policies is None:
            return False
        return await anyio.to_thread.run_sync(self.policies.revoke, workspace, tool)

    async def aclose(self) -> None:
        if self.servers is not None:
            await self.servers.aclose()


def checked_workspace(workspace: str | None) -> str:
    """:raises InvalidParams: not an absolute path."""
    if workspace is None:
        return ""
    if not os.path.isabs(workspace):
        raise InvalidParams("workspace must be an absolute path", field="workspace")
    return os.path.normpath(workspace)
