"""MCP servers from the config, as tools: started lazily, shared, restarted, stopped with us.

Each server runs in one supervisor task that owns its ``mcp`` SDK client (the SDK's context
managers must be entered and left in one task). A call that finds the server dead (its
process exited, its connection broke) marks it so; the next use starts it again after a
backoff, at most ``MAX_RESTARTS`` times in a row without a successful call in between. The
SDK is imported here only, on first use. A server's ``env`` values are handed to its process
and to nothing else: no log line or error message includes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from dataclasses import dataclass, field
from typing import Any

import anyio

from chatd.core.store.base import ToolSpec
from chatd.core.tools.host import HostFailure, HostReply
from chatd.mcp_settings import McpServerSettings, McpSettings

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0
"""Starting a server and listing its tools; a package runner may download first."""

CLOSE_TIMEOUT_S = 5.0
"""The SDK gives a server 2 s to exit after stdin closes, then terminates it."""

MAX_RESTARTS = 5
"""Restarts in a row without a successful call before a server is given up as broken."""

BACKOFF_S = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0)
"""Wait before the n-th restart in a row: a crash loop must not eat a core."""

HTTP_TIMEOUT_S, HTTP_READ_TIMEOUT_S = 30.0, 300.0
"""The SDK's own defaults: a server may hold a response stream open for minutes."""

SEPARATOR = "__"


def tool_name(server: str, tool: str) -> str:
    return f"{server}{SEPARATOR}{tool}"


@dataclass
class _Server:
    settings: McpServerSettings
    session: Any = None
    tools: list[ToolSpec] = field(default_factory=list)
    failure: str | None = None
    restarts: int = 0
    task: asyncio.Task[None] | None = None
    ready: anyio.Event = field(default_factory=anyio.Event)
    stop: anyio.Event = field(default_factory=anyio.Event)
    lock: anyio.Lock = field(default_factory=anyio.Lock)


class McpServers:
    def __init__(self, settings: McpSettings) -> None:
        self._servers = {name: _Server(config) for name, config in settings.servers.items()}
        self._replaced: list[_Server] = []

    def define(self, settings: McpServerSettings) -> None:
        """Add a server at run time (a client's); a new definition under a known name
        replaces the old one, which stops: its next use starts the new one."""
        state = self._servers.get(settings.name)
        if state is not None and state.settings == settings:
            return
        if state is not None:
            state.stop.set()
            self._replaced.append(state)
        self._servers[settings.name] = _Server(settings)

    def running(self, server: str) -> bool:
        state = self._servers.get(server)
        return state is not None and state.session is not None

    def status(self, server: str) -> tuple[str, str | None]:
        """(``running`` | ``stopped`` | ``failed``, the failure)."""
        state = self._servers[server]
        if state.session is not None:
            return "running", None
        return ("failed", state.failure) if state.failure else ("stopped", None)

    async def tools(self, server: str) -> list[ToolSpec]:
        state = await self._started(server)
        return list(state.tools)

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> HostReply:
        state = await self._started(server)
        try:
            result = await state.session.call_tool(tool, arguments)
        except Exception as exc:  # the SDK's and the transport's failures, all of them
            return self._call_failed(state, exc)
        state.restarts = 0
        return HostReply(_result_content(result), bool(result.is_error))

    async def aclose(self) -> None:
        for state in [*self._replaced, *self._servers.values()]:
            state.stop.set()
            if state.task is not None:
                with anyio.CancelScope(shield=True):
                    await _finished(state.task)

    def _call_failed(self, state: _Server, exc: Exception) -> HostReply:
        from mcp.shared.exceptions import MCPError
        from mcp.types import CONNECTION_CLOSED

        name = state.settings.name
        closed = isinstance(exc, MCPError) and exc.code == CONNECTION_CLOSED
        if isinstance(exc, MCPError) and not closed:  # the server answered: it is alive
            return HostReply(f"MCP server {name} answered with an error: {exc.message}", True)
        log.warning("MCP server %s broke during a call: %s", name, type(exc).__name__)
        state.session = None
        state.stop.set()  # the supervisor closes it; the next use restarts it
        return HostReply(f"MCP server {name} stopped during the call; it will be restarted", True)

    async def _started(self, server: str) -> _Server:
        state = self._servers.get(server)
        if state is None:
            raise HostFailure(f"MCP server {server} is not configured")
        if state.session is not None and not state.stop.is_set():
            return state  # running: every call of every turn passes here
        async with state.lock:
            if state.task is not None and (state.task.done() or state.stop.is_set()):
                await _finished(state.task)
                state.task = None
                state.restarts += 1
            if state.task is None:
                if state.restarts > MAX_RESTARTS:
                    raise HostFailure(
                        f"MCP server {server} stopped {state.restarts} times in a row; "
                        "chatd gave up restarting it (restart the daemon to try again)"
                    )
                await anyio.sleep(BACKOFF_S[min(state.restarts, len(BACKOFF_S) - 1)])
                state.ready, state.stop = anyio.Event(), anyio.Event()
                state.failure = None
                state.task = asyncio.get_running_loop().create_task(self._supervise(state))
            await state.ready.wait()
        if state.session is None:
            raise HostFailure(state.failure or f"MCP server {server} is not running")
        return state

    async def _supervise(self, state: _Server) -> None:
        name = state.settings.name
        try:
            async with contextlib.AsyncExitStack() as stack:
                try:
                    session = await _connect(stack, state.settings)
                    with anyio.fail_after(START_TIMEOUT_S):  # not around entering the SDK's scopes
                        await session.initialize()
                        state.tools = await _list_tools(session, state.settings)
                except Exception as exc:  # spawn, handshake or listing failed: say why
                    state.failure = f"MCP server {name} did not start: {_describe(exc)}"
                    log.warning("%s", state.failure)
                    return
                state.session = session
                log.info("MCP server %s started with %d tools", name, len(state.tools))
                state.ready.set()
                await state.stop.wait()
        except Exception as exc:  # closing a broken connection may fail too
            log.info("MCP server %s closed: %s", name, type(exc).__name__)
        finally:
            state.session = None
            state.ready.set()


async def _finished(task: asyncio.Task[None]) -> None:
    """Wait for a supervisor to close its server; cancel it if closing hangs."""
    with anyio.move_on_after(CLOSE_TIMEOUT_S):
        await asyncio.wait([task])
    if not task.done():
        task.cancel()
        await asyncio.wait([task])


async def _connect(stack: contextlib.AsyncExitStack, settings: McpServerSettings) -> Any:
    from mcp import ClientSession

    if settings.url is not None:
        from mcp.client.streamable_http import streamable_http_client

        http_client = None
        if settings.headers:  # else the SDK makes its own client, with these timeouts
            import httpx2

            headers = {name: value.reveal() for name, value in settings.headers.items()}
            timeout = httpx2.Timeout(HTTP_TIMEOUT_S, read=HTTP_READ_TIMEOUT_S)
            http_client = httpx2.AsyncClient(headers=headers, timeout=timeout)
            await stack.enter_async_context(http_client)
        streams = await stack.enter_async_context(
            streamable_http_client(settings.url, http_client=http_client)
        )
        read, write = streams[0], streams[1]
    else:
        from mcp.client.stdio import StdioServerParameters, stdio_client

        assert settings.command is not None
        parameters = StdioServerParameters(
            command=settings.command,
            args=list(settings.args),
            env={key: value.reveal() for key, value in settings.env.items()} or None,
            cwd=settings.cwd,
        )
        read, write = await stack.enter_async_context(stdio_client(parameters, errlog=sys.stderr))
    return await stack.enter_async_context(ClientSession(read, write))


async def _list_tools(session: Any, settings: McpServerSettings) -> list[ToolSpec]:
    from mcp.types import PaginatedRequestParams

    specs: list[ToolSpec] = []
    cursor: str | None = None
    while True:
        params = PaginatedRequestParams(cursor=cursor) if cursor else None
        listed = await session.list_tools(params=params)
        specs += [
            ToolSpec(
                name=tool_name(settings.name, tool.name),
                description=tool.description or "",
                parameters=dict(tool.input_schema),
                approval=settings.approval,
                source=f"mcp:{settings.name}",
            )
            for tool in listed.tools
        ]
        cursor = listed.next_cursor
        if not cursor:
            return specs


def _result_content(result: Any) -> Any:
    """Text blocks as one string; structured content, or a summary of other blocks, else."""
    texts = [block.text for block in result.content if getattr(block, "type", "") == "text"]
    if texts and len(texts) == len(result.content):
        return "\n".join(texts)
    if result.structured_content is not None:
        return result.structured_content
    parts = texts + [
        f"[{block.type} content omitted]" for block in result.content if block.type != "text"
    ]
    return "\n".join(parts) if parts else json.dumps(None)


def _describe(exc: BaseException) -> str:
    """A failure in words, without arguments that could hold the environment."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {START_TIMEOUT_S:g} s"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _describe(exc.exceptions[0])
    return type(exc).__name__ + (f": {exc}" if str(exc) and len(str(exc)) < 300 else "")
