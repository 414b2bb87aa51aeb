"""One session's tools: their specs (saved in its snapshot) and where each one runs now.

A spec outlives its handler. After a restore or a lazy resume the specs come back from the
snapshot unbound: MCP tools re-bind by name to the (shared) server, client tools re-bind when
an attached connection registers a tool of that name, and until then a call gets the result
"tool X is not available right now". The model is always given every spec, sorted by name,
so history that mentions a tool stays valid and the list is the same in every request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import partial

import anyio

from chatd.core.events import ToolApprovalDecided
from chatd.core.providers.base import Emit, ToolCall, ToolResult
from chatd.core.store.base import ToolSpec
from chatd.core.tools import approval
from chatd.core.tools.host import HostFailure, HostReply, ToolHost, ToolServers
from chatd.core.tools.policies import PolicyStore
from chatd.core.tools.registry import ToolRegistry, run_concurrently
from chatd.core.tools.specs import DEFAULT_TIMEOUT_MS, arguments_problem

log = logging.getLogger(__name__)

MCP_PREFIX = "mcp:"


@dataclass(frozen=True, slots=True)
class ToolInfo:
    spec: ToolSpec
    available: bool


class SessionTools:
    def __init__(
        self,
        session_id: str,
        *,
        specs: Iterable[ToolSpec] = (),
        builtin: ToolRegistry | None = None,
        servers: ToolServers | None = None,
        mcp_servers: Sequence[str] = (),
        policies: PolicyStore | None = None,
        workspace: str = "",
    ) -> None:
        self.session_id = session_id
        self.builtin = builtin or ToolRegistry()
        self.servers = servers
        self.mcp_servers = tuple(dict.fromkeys(mcp_servers))
        self.policies = policies
        self.workspace = workspace
        self.clients: set[ToolHost] = set()
        """Attached connections: they are asked to approve ``ask`` tools."""
        self._specs = {spec.name: spec for spec in specs}
        self._hosts: dict[str, ToolHost] = {}
        for spec in self.builtin.specs():
            self._specs[spec.name] = replace(spec, source="daemon")

    def specs(self) -> tuple[ToolSpec, ...]:
        return tuple(self._specs[name] for name in sorted(self._specs))

    def register(self, specs: Iterable[ToolSpec], host: ToolHost) -> None:
        """Add or replace client tools, hosted by ``host`` from now on."""
        for spec in specs:
            self._specs[spec.name] = replace(spec, source="client")
            self._hosts[spec.name] = host

    def unregister(self, names: Iterable[str]) -> list[str]:
        """Forget client tools; returns the names that were registered."""
        removed = []
        for name in names:
            spec = self._specs.get(name)
            if spec is not None and spec.source == "client":
                del self._specs[name]
                self._hosts.pop(name, None)
                removed.append(name)
        return removed

    def describe(self) -> list[ToolInfo]:
        return [ToolInfo(spec, self._available(spec)) for spec in self.specs()]

    def server_states(self) -> list[tuple[str, str, str | None]]:
        """(name, ``running`` | ``stopped`` | ``failed``, why) of this session's MCP servers."""
        if self.servers is None:
            return []
        return [(name, *self.servers.status(name)) for name in self.mcp_servers]

    async def load_servers(self) -> None:
        """Start this session's MCP servers (if not running) and take in their tool lists.

        A server that does not start keeps its saved specs: its calls get error results.
        """
        if self.servers is None:
            return
        for server in self.mcp_servers:
            try:
                listed = await self.servers.tools(server)
            except HostFailure as exc:
                log.warning("MCP server %s is unavailable: %s", server, exc.message)
                continue
            for name in [n for n, s in self._specs.items() if s.source == MCP_PREFIX + server]:
                del self._specs[name]
            self._specs.update((spec.name, spec) for spec in listed)

    async def run_calls(self, calls: Sequence[ToolCall], emit: Emit) -> list[ToolResult]:
        async def run(call: ToolCall) -> ToolResult:
            return await self._run(call, emit)

        return await run_concurrently(calls, run, emit)

    def _available(self, spec: ToolSpec) -> bool:
        if spec.source == "daemon":
            return True
        if spec.source.startswith(MCP_PREFIX):
            server = spec.source.removeprefix(MCP_PREFIX)
            return self.servers is not None and self.servers.running(server)
        host = self._hosts.get(spec.name)
        return host is not None and host.open

    async def _run(self, call: ToolCall, emit: Emit) -> ToolResult:
        spec = self._specs.get(call.name)
        if spec is None:
            return _error(call, f"unknown tool {call.name!r}")
        if spec.approval == "deny":
            return _error(call, f"tool {call.name} is denied by the user's configuration")
        problem = arguments_problem(spec, call.arguments)
        if problem is not None:
            return _error(call, f"the arguments do not match the tool's schema: {problem}")
        if spec.approval == "ask":
            decision = await approval.decide(
                self.session_id,
                call,
                workspace=self.workspace,
                clients=self.clients,
                policies=self.policies,
            )
            emit(ToolApprovalDecided(call.id, call.name, decision))
            if not approval.allowed(decision):
                reason = "" if decision != approval.UNANSWERED else ": no client could ask"
                return _error(call, "the user rejected this call" + reason)
        if spec.source == "daemon":
            return await self.builtin.run(call)
        return await self._run_hosted(spec, call)

    async def _run_hosted(self, spec: ToolSpec, call: ToolCall) -> ToolResult:
        timeout_s = (spec.timeout_ms or DEFAULT_TIMEOUT_MS) / 1000
        run = self._runner(spec, call)
        if run is None:
            return _error(call, f"tool {call.name} is not available right now")
        try:
            with anyio.fail_after(timeout_s):
                reply = await run()
        except TimeoutError:
            return _error(call, f"tool {call.name} did not answer within {timeout_s:g} s")
        except HostFailure as exc:
            return _error(call, exc.message)
        return ToolResult(call.id, call.name, _text(reply), reply.is_error)

    def _runner(self, spec: ToolSpec, call: ToolCall) -> Callable[[], Awaitable[HostReply]] | None:
        """What runs the call now, or None: an MCP server (started again if it stopped), or
        the live connection hosting a client tool."""
        server = spec.source.removeprefix(MCP_PREFIX)
        servers = self.servers
        if server != spec.source:
            if servers is None or server not in self.mcp_servers:
                return None
            tool = call.name.removeprefix(server + "__")
            return partial(servers.call, server, tool, call.arguments)
        host = self._hosts.get(spec.name)
        if host is None or not host.open:
            return None
        return partial(host.call_tool, self.session_id, call)


def _error(call: ToolCall, message: str) -> ToolResult:
    return ToolResult(call.id, call.name, message, is_error=True)


def _text(reply: HostReply) -> str:
    if isinstance(reply.content, str):
        return reply.content
    return json.dumps(reply.content, ensure_ascii=False)
