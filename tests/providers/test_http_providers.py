"""The HTTP adapters with their real SDKs against the fake API server, through a real Turn."""

from __future__ import annotations

import socket
import threading
from typing import Any

import anyio
import pytest

from chatd.core.events import (
    TextDelta,
    ToolCallRequested,
    ToolCallStarted,
    ToolResultReady,
)
from chatd.core.store.base import ToolSpec
from chatd.core.tools import Tool
from chatd.core.turns import CANCELLED_TOOL_RESULT
from chatd.errors import ProviderFailure
from tests.fakes.provider_server import Call, Fail, FakeProviderServer, Reply
from tests.fakes.wire_checks import problems
from tests.providers import wire
from tests.providers.conftest import HTTP_KINDS, new_chat, text_tool

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("kind", HTTP_KINDS)]

WAIT_S = 10.0
"""Upper bound for waiting on an event the test itself causes; never reached when passing."""


async def test_multi_turn_chat_keeps_system_prompt_out_of_the_turns(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider(kind), system_prompt="You are terse.")
    fake_server.script(Reply("Hello!"), Reply("Again!"))

    first = await chat.send("hi")
    second = await chat.send("once more")

    assert (first.text, first.stop_reason) == ("Hello!", "end_turn")
    assert second.text == "Again!"
    request = fake_server.requests[1]
    assert wire.system_prompt(request) == "You are terse."
    assert wire.turns(request) == [("user", "hi"), ("assistant", "Hello!"), ("user", "once more")]
    assert wire.auth_of(request) == "test-key"
    assert problems(request) == []


async def test_text_streams_as_deltas_in_order(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider(kind))
    fake_server.script(Reply(["Hel", "lo, ", "world"]))

    outcome = await chat.send("hi")

    assert [event.text for event in chat.of_type(TextDelta)] == ["Hel", "lo, ", "world"]
    assert outcome.text == "Hello, world"


async def test_parallel_tool_calls_all_run_concurrently_and_answer_in_call_order(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    first_started, second_started = anyio.Event(), anyio.Event()

    async def first(arguments: dict[str, Any]) -> str:
        first_started.set()
        await second_started.wait()  # deadlocks unless both run at once
        return f"sunny in {arguments['city']}"

    async def second(arguments: dict[str, Any]) -> str:
        second_started.set()
        await first_started.wait()
        return "12:00"

    tools = [
        Tool(ToolSpec(name="weather", parameters={"type": "object"}), first),
        Tool(ToolSpec(name="clock", parameters={"type": "object"}), second),
    ]
    chat = new_chat(make_provider(kind), tools=tools)
    calls = [Call("weather", {"city": "Paris"}, id="c1"), Call("clock", {}, id="c2")]
    fake_server.script(Reply("Checking.", calls=calls), Reply("Sunny, noon."))

    with anyio.fail_after(WAIT_S):
        outcome = await chat.send("weather and time?")

    assert outcome.text == "Checking.\n\nSunny, noon."
    assert [(e.call_id, e.name) for e in chat.of_type(ToolCallStarted)] == [
        ("c1", "weather"),
        ("c2", "clock"),
    ]
    requested = chat.of_type(ToolCallRequested)
    assert [(e.name, e.arguments) for e in requested] == [
        ("weather", {"city": "Paris"}),
        ("clock", {}),
    ]
    assert {e.call_id for e in chat.of_type(ToolResultReady)} == {"c1", "c2"}
    results = wire.tool_results(fake_server.requests[1])
    assert [(text, error) for _, text, error in results] == [
        ("sunny in Paris", False),
        ("12:00", False),
    ]
    assert problems(fake_server.requests[1]) == []
    tool_names = {tool["name"] for tool in _declared_tools(fake_server.requests[0])}
    assert tool_names == {"weather", "clock"}


async def test_failing_and_unknown_tools_become_error_results(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider(kind), tools=[text_tool("flaky", fail=True)])
    calls = [Call("flaky", {}, id="c1"), Call("missing", {}, id="c2")]
    fake_server.script(Reply(calls=calls), Reply("Sorry."))

    outcome = await chat.send("go")

    assert outcome.text == "Sorry."
    results = wire.tool_results(fake_server.requests[1])
    assert all(error for _, _, error in results)
    assert "flaky broke" in results[0][1]
    assert "unknown tool" in results[1][1]


async def test_next_turn_replays_the_whole_first_turn_natively(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider(kind), tools=[text_tool("weather", "rain")])
    fake_server.script(
        Reply("Let me look.", calls=[Call("weather", {"city": "Oslo"}, id="c1")]),
        Reply("Rain."),
        Reply("You're welcome."),
    )
    await chat.send("weather in Oslo?")
    history_after_first_turn = list(chat.conversation.history)

    await chat.send("thanks")

    replayed = fake_server.requests[2]
    assert _conversation(replayed)[: len(history_after_first_turn)] == history_after_first_turn
    assert wire.tool_results(replayed)[0][1:] == ("rain", False)
    assert problems(replayed) == []


async def test_cancelled_stream_leaves_a_history_the_next_request_accepts(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider(kind))
    await _cancel_after_first_delta(
        chat, fake_server, ["partial ", "never sent"], "tell me a story"
    )
    assert chat.last_turn is not None and chat.last_turn.cancelled_outcome is not None
    assert chat.last_turn.cancelled_outcome.stop_reason == "cancelled"

    fake_server.script(Reply("Fine."))
    await chat.send("go on")

    after = fake_server.requests[-1]
    assert wire.turns(after) == [
        ("user", "tell me a story"),
        ("assistant", "partial "),
        ("user", "go on"),
    ]
    assert problems(after) == []


async def test_a_cancel_after_only_whitespace_keeps_no_empty_assistant_turn(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider(kind))
    await _cancel_after_first_delta(chat, fake_server, ["\n ", "never sent"], "hi")

    fake_server.script(Reply("ok"))
    await chat.send("again")
    assert problems(fake_server.requests[-1]) == []
    assert wire.turns(fake_server.requests[-1])[-1] == ("user", "again")


async def test_cancelled_tool_call_is_closed_with_a_cancelled_result(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    slow_started = anyio.Event()

    async def slow(arguments: dict[str, Any]) -> str:
        slow_started.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    tools = [text_tool("fast", "done fast"), Tool(ToolSpec(name="slow"), slow)]
    chat = new_chat(make_provider(kind), tools=tools)
    fake_server.script(Reply(calls=[Call("fast", {}, id="c1"), Call("slow", {}, id="c2")]))

    async with anyio.create_task_group() as group:
        group.start_soon(chat.send, "do both")
        with anyio.fail_after(WAIT_S):
            await slow_started.wait()
        await chat.until(lambda: chat.of_type(ToolResultReady))
        group.cancel_scope.cancel()

    fake_server.script(Reply("Okay."))
    await chat.send("never mind")

    after = fake_server.requests[-1]
    assert problems(after) == []
    results = [(text, error) for _, text, error in wire.tool_results(after)]
    assert results[0] == ("done fast", False)
    assert CANCELLED_TOOL_RESULT in results[1][0] and results[1][1]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 429, 500, 503, 529])
async def test_error_statuses_map_to_provider_failure(
    kind: str, status: int, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider(kind), system_prompt="sys")
    start = list(chat.conversation.history)
    fake_server.script(Fail(status, "the model is unhappy"))

    with pytest.raises(ProviderFailure) as caught:
        await chat.send("hi")

    failure = caught.value
    assert (failure.provider, failure.status) == (kind, status)
    assert failure.retryable is (status in (429, 500, 503, 529))
    assert "test-key" not in failure.message
    if status == 401:
        assert f"api_key in [providers.{kind}]" in failure.message
    elif status != 403:
        assert "the model is unhappy" in failure.message
    if kind != "gemini":
        assert failure.request_id == "req_failed"
    assert chat.conversation.history == start


async def test_retries_are_bounded_and_then_succeed(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider(kind, max_retries=2))
    fake_server.script(Fail(503), Fail(503), Fail(503), Fail(503))

    with pytest.raises(ProviderFailure):
        await chat.send("hi")
    assert len(fake_server.requests) == 3

    fake_server.script(Fail(429), Reply("made it"))
    outcome = await chat.send("again")
    assert outcome.text == "made it"


async def test_no_retries_for_client_errors(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider(kind, max_retries=2))
    fake_server.script(Fail(400), Reply("unused"))

    with pytest.raises(ProviderFailure):
        await chat.send("hi")
    assert len(fake_server.requests) == 1


async def test_unreachable_endpoint_is_a_retryable_failure(kind: str, make_provider: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    suffix = "/v1" if kind.startswith("openai") else ""
    chat = new_chat(make_provider(kind, base_url=f"http://127.0.0.1:{port}{suffix}"))

    with pytest.raises(ProviderFailure) as caught:
        await chat.send("hi")

    assert caught.value.retryable and caught.value.status is None


async def test_a_stream_that_stalls_times_out_as_a_retryable_failure(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider(kind, timeout_s=0.2))
    fake_server.script(Reply(["a", "b"], delay_s=2.0))

    with pytest.raises(ProviderFailure) as caught:
        await chat.send("hi")

    assert caught.value.retryable and "timed out" in caught.value.message


async def test_a_stream_that_breaks_off_fails_and_rolls_back(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider(kind))
    fake_server.script(Reply(["a", "b", "c", "d"], break_after=2))

    with pytest.raises(ProviderFailure) as caught:
        await chat.send("hi")

    assert caught.value.retryable
    assert chat.conversation.history == chat.provider.start_history("")


async def test_usage_is_mapped_per_step_and_summed_per_turn(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider(kind), tools=[text_tool("t", "ok")])
    step = {"input_tokens": 100, "output_tokens": 20, "cached_tokens": 30, "reasoning_tokens": 5}
    fake_server.script(Reply(calls=[Call("t", {}, id="c1")], **step), Reply("done", **step))

    outcome = await chat.send("hi")

    per_step = {
        "claude": (130, 20, 30, 0),
        "gemini": (100, 25, 30, 5),
    }.get(kind, (100, 20, 30, 5))
    usage = outcome.usage
    totals = (usage.input_tokens, usage.output_tokens, usage.cached_tokens, usage.reasoning_tokens)
    assert totals == tuple(2 * value for value in per_step)


@pytest.mark.parametrize("normalised", ["max_tokens", "refusal"])
async def test_stop_reasons_are_normalised(
    kind: str, normalised: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    native = {
        "claude": {"max_tokens": "max_tokens", "refusal": "refusal"},
        "gemini": {"max_tokens": "MAX_TOKENS", "refusal": "SAFETY"},
    }.get(kind, {"max_tokens": "length", "refusal": "content_filter"})
    chat = new_chat(make_provider(kind))
    fake_server.script(Reply("cut", stop=native[normalised]))

    outcome = await chat.send("hi")

    assert outcome.stop_reason == normalised


async def test_a_model_that_keeps_calling_tools_stops_at_max_steps(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider(kind), tools=[text_tool("again", "more")])
    chat.max_steps = 2
    fake_server.script(*[Reply(calls=[Call("again", {}, id=f"c{n}")]) for n in range(2)])

    outcome = await chat.send("loop")

    assert outcome.stop_reason == "max_steps"
    assert len(fake_server.requests) == 2
    fake_server.script(Reply("ok"))
    await chat.send("stop now")
    assert problems(fake_server.requests[-1]) == []


async def test_model_and_max_tokens_come_from_config_then_session(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider(kind, model="configured-model", max_tokens=321))
    fake_server.script(Reply("a"), Reply("b"))

    await chat.send("one")
    chat.conversation.model = "session-model"
    await chat.send("two")

    first, second = fake_server.requests
    assert (wire.model_of(first), wire.max_tokens_of(first)) == ("configured-model", 321)
    assert wire.model_of(second) == "session-model"


async def test_an_empty_reply_adds_nothing_the_api_would_reject(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider(kind))
    fake_server.script(Reply(""), Reply("there"))

    empty = await chat.send("hello?")
    await chat.send("anyone?")

    assert empty.text == ""
    assert problems(fake_server.requests[-1]) == []


async def _cancel_after_first_delta(
    chat: Any, fake_server: FakeProviderServer, deltas: list[str], message: str
) -> None:
    """Send ``message``; cancel the turn once the first of ``deltas`` has streamed."""
    release = threading.Event()
    fake_server.script(Reply(deltas, hold=release))
    async with anyio.create_task_group() as group:
        group.start_soon(chat.send, message)
        await chat.until(lambda: chat.of_type(TextDelta))
        group.cancel_scope.cancel()
    release.set()


def _declared_tools(request: Any) -> list[dict[str, Any]]:
    body = request.body
    if request.wire == "anthropic":
        return list(body["tools"])
    if request.wire == "openai":
        return [tool["function"] for tool in body["tools"]]
    return list(body["tools"][0]["functionDeclarations"])


def _conversation(request: Any) -> list[Any]:
    body = request.body
    if request.wire == "gemini":
        return [{"role": c["role"], "parts": c["parts"]} for c in body["contents"]]
    return list(body["messages"])
