"""The ``tools/*`` methods: a session's tools, and the remembered approval answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chatd.core.store.base import ToolSpec
from chatd.core.tools.policies import Policy
from chatd.core.tools.session_tools import SessionTools
from chatd.rpc import params as p

if TYPE_CHECKING:
    from chatd.rpc.server import Connection, Handler, ServerContext


@dataclass(frozen=True, kw_only=True)
class ToolsRegisterParams:
    session_id: str
    tools: list[ToolSpec]


@dataclass(frozen=True, kw_only=True)
class ToolsUnregisterParams:
    session_id: str
    names: list[str]


@dataclass(frozen=True, kw_only=True)
class PolicyListParams:
    workspace: str | None = None


@dataclass(frozen=True, kw_only=True)
class PolicyRevokeParams:
    workspace: str
    tool: str


class ToolMethods:
    def __init__(self, context: ServerContext, connection: Connection) -> None:
        self.manager = context.manager
        self.tooling = context.manager.tooling
        self.connection = connection

    def table(self) -> dict[str, Handler]:
        return {
            "tools/register": self.tools_register,
            "tools/unregister": self.tools_unregister,
            "tools/list": self.tools_list,
            "tools/policy/list": self.tools_policy_list,
            "tools/policy/revoke": self.tools_policy_revoke,
        }

    async def tools_register(self, params: Any) -> dict[str, Any]:
        """Add or replace tools this connection hosts (re-binds saved tools by name)."""
        args = p.structure(params, ToolsRegisterParams)
        session = await self.manager.get(args.session_id)
        self.connection.attach(session)
        self.tooling.update(session.tools, args.tools, self.connection.tool_host)
        return tools_json(session.tools)

    async def tools_unregister(self, params: Any) -> dict[str, Any]:
        """Remove client tools from the session; the model no longer sees them."""
        args = p.structure(params, ToolsUnregisterParams)
        session = await self.manager.get(args.session_id)
        return {"removed": session.tools.unregister(args.names)}

    async def tools_list(self, params: Any) -> dict[str, Any]:
        """Every tool the model is given, where it runs and whether it can run now."""
        args = p.structure(params, p.SessionParams)
        session = await self.manager.get(args.session_id)
        await session.tools.load_servers()
        return tools_json(session.tools)

    async def tools_policy_list(self, params: Any) -> dict[str, Any]:
        """Remembered ``allow_always`` / ``reject_always`` answers."""
        args = p.structure(params, PolicyListParams)
        policies = await self.tooling.list_policies(args.workspace)
        return {"policies": [policy_json(policy) for policy in policies]}

    async def tools_policy_revoke(self, params: Any) -> dict[str, Any]:
        """Forget one remembered answer: the tool asks again."""
        args = p.structure(params, PolicyRevokeParams)
        return {"revoked": await self.tooling.revoke_policy(args.workspace, args.tool)}


def tools_json(tools: SessionTools) -> dict[str, Any]:
    return {
        "servers": [
            {"name": name, "state": state, "error": error}
            for name, state, error in tools.server_states()
        ],
        "tools": [
            {
                "name": info.spec.name,
                "description": info.spec.description,
                "parameters": info.spec.parameters or {"type": "object"},
                "approval": info.spec.approval,
                "timeoutMs": info.spec.timeout_ms,
                "source": info.spec.source,
                "available": info.available,
            }
            for info in tools.describe()
        ],
    }


def policy_json(policy: Policy) -> dict[str, str]:
    return {"workspace": policy.workspace, "tool": policy.tool, "decision": policy.decision}
