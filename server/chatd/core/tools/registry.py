"""In-process tools (handlers in the daemon's own code), and running a step's calls.

A handler's failure is a result for the model (``is_error``), never a failed turn.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio

from chatd.core.events import ToolResultReady
from chatd.core.providers.base import Emit, ToolCall, ToolResult
from chatd.core.store.base import ToolSpec

log = logging.getLogger(__name__)

MAX_PARALLEL_TOOL_CALLS = 4
"""Calls of one step run concurrently up to this many; a model asking for 30 waits its turn."""

ToolHandler = Callable[[dict[str, Any]], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Tool:
    spec: ToolSpec
    handler: ToolHandler


async def run_concurrently(
    calls: Sequence[ToolCall], run: Callable[[ToolCall], Awaitable[ToolResult]], emit: Emit
) -> list[ToolResult]:
    """Run every call, concurrently but capped; results come back in call order."""
    results: list[ToolResult | None] = [None] * len(calls)
    limiter = anyio.CapacityLimiter(MAX_PARALLEL_TOOL_CALLS)

    async def run_one(index: int, call: ToolCall) -> None:
        async with limiter:
            result = await run(call)
        results[index] = result
        emit(ToolResultReady(call.id, call.name, result.content, result.is_error))

    async with anyio.create_task_group() as group:
        for index, call in enumerate(calls):
            group.start_soon(run_one, index, call)
    return [result for result in results if result is not None]


class ToolRegistry:
    """Tools by name, in registration order (so the model sees a stable list)."""

    def __init__(self, tools: Sequence[Tool] = ()) -> None:
        self._tools = {tool.spec.name: tool for tool in tools}

    def specs(self) -> tuple[ToolSpec, ...]:
        return tuple(tool.spec for tool in self._tools.values())

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    async def run_calls(self, calls: Sequence[ToolCall], emit: Emit) -> list[ToolResult]:
        return await run_concurrently(calls, self.run, emit)

    async def run(self, call: ToolCall) -> ToolResult:
        tool = self._tools.get(call.name)
        if tool is None:
            return ToolResult(call.id, call.name, f"unknown tool {call.name!r}", is_error=True)
        try:
            content = await tool.handler(call.arguments)
        except Exception as exc:  # a tool's bug is the model's information, not our crash
            log.info("tool %s failed: %s", call.name, type(exc).__name__)
            return ToolResult(call.id, call.name, f"{type(exc).__name__}: {exc}", is_error=True)
        return ToolResult(call.id, call.name, content)
