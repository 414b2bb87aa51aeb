"""A session's tools driven without a transport: fake hosts stand in for connections."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest

from chatd.core.events import ToolApprovalDecided, TurnEvent
from chatd.core.providers.base import ToolCall
from chatd.core.store.base import Snapshot, ToolSpec
from chatd.core.store.snapshot import (
    encode_json,
    from_document,
    parse_document,
    to_document,
)
from chatd.core.tools.host import HostFailure, HostReply
from chatd.core.tools.policies import PolicyStore
from chatd.core.tools.session_tools import SessionTools

pytestmark = pytest.mark.anyio


class FakeHost:
    def __init__(self, decision: str | None = None, delay_s: float = 0.0) -> None:
        self.decision = decision
        self.delay_s = delay_s
        self.open = True
        self.calls: list[ToolCall] = []
        self.cancelled = 0

    async def call_tool(self, session_id: str, call: ToolCall) -> HostReply:
        self.calls.append(call)
        try:
            await anyio.sleep(self.delay_s)
        except anyio.get_cancelled_exc_class():
            self.cancelled += 1
            raise
        return HostReply({"echo": call.arguments})

    async def approve(self, session_id: str, call: ToolCall) -> str:
        try:
            await anyio.sleep(self.delay_s)
        except anyio.get_cancelled_exc_class():
            self.cancelled += 1
            raise
        if self.decision is None:
            raise HostFailure("this client does not answer approvals")
        return self.decision


async def run(tools: SessionTools, *calls: ToolCall) -> tuple[list[Any], list[TurnEvent]]:
    events: list[TurnEvent] = []
    return await tools.run_calls(list(calls), events.append), events


async def test_the_first_approval_wins_and_the_slower_question_is_withdrawn() -> None:
    host = FakeHost()
    quick, slow, mute = FakeHost("allow_once"), FakeHost("reject_once", delay_s=5), FakeHost()
    tools = SessionTools("s")
    tools.register([ToolSpec(name="edit", approval="ask")], host)
    tools.clients.update({quick, slow, mute})

    (result,), events = await run(tools, ToolCall("c1", "edit", {"path": "a"}))

    assert not result.is_error and result.content == '{"echo": {"path": "a"}}'
    assert slow.cancelled == 1
    assert [e.decision for e in events if isinstance(e, ToolApprovalDecided)] == ["allow_once"]


async def test_a_slow_host_times_out_and_its_call_is_cancelled() -> None:
    host = FakeHost(delay_s=5)
    tools = SessionTools("s")
    tools.register([ToolSpec(name="slow", timeout_ms=50)], host)

    (result,), _ = await run(tools, ToolCall("c1", "slow", {}))

    assert result.is_error and result.content == "tool slow did not answer within 0.05 s"
    assert host.cancelled == 1


async def test_a_closed_host_makes_its_tools_unavailable_until_registered_again() -> None:
    gone, fresh = FakeHost(), FakeHost()
    tools = SessionTools("s")
    tools.register([ToolSpec(name="look")], gone)
    gone.open = False

    (before,), _ = await run(tools, ToolCall("c1", "look", {}))
    tools.register([ToolSpec(name="look")], fresh)
    (after,), _ = await run(tools, ToolCall("c2", "look", {}))

    assert before.content == "tool look is not available right now" and before.is_error
    assert not after.is_error and [call.id for call in fresh.calls] == ["c2"]


async def test_an_unreadable_policy_file_means_asking(tmp_path: Path) -> None:
    policy_file = tmp_path / "tool-policies.json"
    policy_file.write_text("{not json")
    tools = SessionTools("s", policies=PolicyStore(policy_file))
    tools.register([ToolSpec(name="edit", approval="ask")], FakeHost())
    tools.clients.add(FakeHost("reject_once"))

    (result,), _ = await run(tools, ToolCall("c1", "edit", {}))

    assert result.is_error and result.content == "the user rejected this call"


def test_specs_are_saved_sorted_with_their_chatd_keys_and_load_back() -> None:
    tools = SessionTools("s")
    tools.register(
        [
            ToolSpec(name="zeta", parameters={"type": "object"}, approval="ask", timeout_ms=5),
            ToolSpec(name="alpha", description="first", parameters={"type": "object"}),
        ],
        FakeHost(),
    )
    now = datetime.now(UTC)
    snapshot = Snapshot(
        id="0b8f3c1e-5d2a-4c8e-9a51-2f6d7e8a9b10",
        provider="echo",
        model="echo-1",
        messages=[],
        created_at=now,
        updated_at=now,
        tools=tools.specs(),
        revision=1,
    )
    document = encode_json(to_document(snapshot), pretty=True)
    loaded = from_document(
        parse_document(document, file="x.json"), snapshot_id=snapshot.id, file="x.json"
    )

    assert [tool.name for tool in loaded.tools] == ["alpha", "zeta"]
    assert loaded.tools == snapshot.tools
    assert b'"approval": "ask"' in document and b'"timeout_ms": 5' in document
    assert b'"source"' not in document  # client is the default, written only when not
