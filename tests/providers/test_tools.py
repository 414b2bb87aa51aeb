"""Running a step's tool calls: concurrent but capped, answered in call order, never raising."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from chatd.core.events import ToolResultReady, TurnEvent
from chatd.core.providers.base import ToolCall
from chatd.core.store.base import ToolSpec
from chatd.core.tools import MAX_PARALLEL_TOOL_CALLS, Tool, ToolRegistry

pytestmark = pytest.mark.anyio


async def test_calls_run_concurrently_up_to_the_cap_and_answer_in_call_order() -> None:
    running = 0
    peak = 0
    calls = [ToolCall(f"c{n}", "work", {"n": n}) for n in range(MAX_PARALLEL_TOOL_CALLS * 3)]

    async def work(arguments: dict[str, Any]) -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        for _ in range(len(calls) - arguments["n"]):  # early calls finish last
            await anyio.lowlevel.checkpoint()
        running -= 1
        return str(arguments["n"])

    events: list[TurnEvent] = []
    registry = ToolRegistry([Tool(ToolSpec(name="work"), work)])

    results = await registry.run_calls(calls, events.append)

    assert peak == MAX_PARALLEL_TOOL_CALLS
    assert [result.content for result in results] == [str(n) for n in range(len(calls))]
    assert [result.call_id for result in results] == [call.id for call in calls]
    assert len([event for event in events if isinstance(event, ToolResultReady)]) == len(calls)


async def test_a_raising_handler_and_an_unknown_tool_are_error_results() -> None:
    async def broken(arguments: dict[str, Any]) -> str:
        raise ValueError("bad input")

    registry = ToolRegistry([Tool(ToolSpec(name="broken"), broken)])
    calls = [ToolCall("a", "broken", {}), ToolCall("b", "nowhere", {})]

    results = await registry.run_calls(calls, lambda event: None)

    assert [(r.call_id, r.is_error) for r in results] == [("a", True), ("b", True)]
    assert "bad input" in results[0].content
    assert "unknown tool" in results[1].content


async def test_specs_keep_registration_order() -> None:
    async def handler(arguments: dict[str, Any]) -> str:
        return ""

    names = ["zeta", "alpha", "mid"]
    registry = ToolRegistry([Tool(ToolSpec(name=name), handler) for name in names])

    assert [spec.name for spec in registry.specs()] == names
