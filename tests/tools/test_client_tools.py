"""A script hosts tools through chatd_client; the daemon calls them back over ``tool/call``.

The fake provider asks for the tools; what the script answers must reach the provider's next
request in its own shape (Anthropic ``tool_result`` with ``is_error``, OpenAI ``tool``
messages, Gemini ``functionResponse.response`` with ``output`` / ``error``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from chatd_client import Client, RpcError, Toolbox
from tests.fakes.provider_server import Call, FakeProviderServer, Reply
from tests.providers import wire
from tests.tools.conftest import KINDS

pytestmark = pytest.mark.anyio


def weather_box(calls: list[dict[str, Any]]) -> Toolbox:
    toolbox = Toolbox()

    @toolbox.tool
    async def weather(city: str, days: int = 1) -> str:
        """The forecast for a city."""
        calls.append({"city": city, "days": days})
        return f"sunny in {city} for {days} day(s)"

    @toolbox.tool
    def population(city: str) -> dict[str, Any]:
        """How many people live there."""
        return {"city": city, "people": 2_100_000}

    @toolbox.tool
    def broken(city: str) -> str:
        """Always fails."""
        raise ValueError(f"no data for {city}")

    return toolbox


def result_texts(request: Any) -> list[tuple[str, bool]]:
    return [(text, is_error) for _, text, is_error in wire.tool_results(request)]


@pytest.mark.parametrize("kind", KINDS)
async def test_hosted_tools_round_trip_into_the_next_request(
    kind: str, client: Client, fake_server: FakeProviderServer
) -> None:
    calls: list[dict[str, Any]] = []
    toolbox = weather_box(calls)
    toolbox.serve(client)
    updates: list[Any] = []
    client.on_notification(lambda method, params: updates.append(params))
    fake_server.script(
        Reply(
            "Checking.",
            calls=[
                Call("weather", {"city": "Paris", "days": 2}, id="call_1"),
                Call("population", {"city": "Paris"}, id="call_2"),
                Call("broken", {"city": "Paris"}, id="call_3"),
            ],
        ),
        Reply("Sunny, 2.1 million people."),
    )
    session = await client.chat_new(provider=kind, tools=toolbox.specs())

    answer = await client.chat_send("Paris?", session_id=session["sessionId"])

    assert answer["text"].endswith("Sunny, 2.1 million people.")
    assert calls == [{"city": "Paris", "days": 2}]
    first, second = fake_server.requests
    declared = _declared_tools(first)
    assert declared == ["broken", "population", "weather"]
    results = result_texts(second)
    assert results[0] == ("sunny in Paris for 2 day(s)", False)
    assert '"people": 2100000' in results[1][0] and not results[1][1]
    assert results[2][1] and "no data for Paris" in results[2][0]
    kinds = [u["kind"] for u in updates if u["kind"] in ("tool_call", "tool_result")]
    assert kinds.count("tool_result") == 3


async def test_two_calls_at_once_both_reach_the_client(
    client: Client, fake_server: FakeProviderServer
) -> None:
    both_running = asyncio.Event()
    running = 0
    toolbox = Toolbox()

    @toolbox.tool
    async def slow(n: int) -> str:
        nonlocal running
        running += 1
        if running == 2:
            both_running.set()
        await asyncio.wait_for(both_running.wait(), 10)
        return f"done {n}"

    toolbox.serve(client)
    fake_server.script(
        Reply(calls=[Call("slow", {"n": 1}, id="a"), Call("slow", {"n": 2}, id="b")]),
        Reply("ok"),
    )
    session = await client.chat_new(provider="claude", tools=toolbox.specs())
    await client.chat_send("go", session_id=session["sessionId"])
    assert result_texts(fake_server.requests[1]) == [("done 1", False), ("done 2", False)]


async def test_error_reply_malformed_reply_and_timeout_become_error_results(
    client: Client, fake_server: FakeProviderServer
) -> None:
    cancelled = asyncio.Event()

    async def answer(params: Any) -> Any:
        name = params["name"]
        if name == "refuses":
            raise RpcError(-32000, "the editor has no buffer open")
        if name == "mangled":
            return {"text": "no content key"}
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return {"content": "too late"}

    client.on_request("tool/call", answer)
    specs = [
        {"name": "refuses"},
        {"name": "mangled"},
        {"name": "sleepy", "timeoutMs": 200},
    ]
    fake_server.script(
        Reply(calls=[Call(spec["name"], {}, id=f"c{n}") for n, spec in enumerate(specs)]),
        Reply("ok"),
    )
    session = await client.chat_new(provider="openai", tools=specs)
    answer_ = await client.chat_send("go", session_id=session["sessionId"])

    assert answer_["stopReason"] == "end_turn"
    refused, mangled, slept = result_texts(fake_server.requests[1])
    assert refused[1] and "no buffer open" in refused[0]
    assert mangled[1] and "malformed" in mangled[0]
    assert slept[1] and "did not answer within 0.2 s" in slept[0]
    await asyncio.wait_for(cancelled.wait(), 10)  # the timed-out call got $/cancelRequest


async def test_a_host_that_disconnects_mid_call_gives_an_error_result(
    socket_pair: tuple[Client, Client], fake_server: FakeProviderServer
) -> None:
    sender, tool_host = socket_pair
    called = asyncio.Event()

    async def hang(params: Any) -> Any:
        called.set()
        await asyncio.sleep(60)

    tool_host.on_request("tool/call", hang)
    session = await sender.chat_new(provider="gemini")
    await tool_host.request(
        "tools/register", {"sessionId": session["sessionId"], "tools": [{"name": "hang"}]}
    )
    fake_server.script(Reply(calls=[Call("hang", {}, id="h1")]), Reply("ok"))
    turn = asyncio.create_task(sender.chat_send("go", session_id=session["sessionId"]))
    await asyncio.wait_for(called.wait(), 10)
    await tool_host.close()
    answer = await asyncio.wait_for(turn, 20)

    assert answer["stopReason"] == "end_turn"
    ((text, is_error),) = result_texts(fake_server.requests[1])
    assert is_error and "disconnected" in text
    listed = await sender.request("tools/list", {"sessionId": session["sessionId"]})
    assert listed["tools"][0]["available"] is False


def _declared_tools(request: Any) -> list[str]:
    body = request.body
    if request.wire == "gemini":
        return [d["name"] for d in body["tools"][0]["functionDeclarations"]]
    if request.wire == "openai":
        return [t["function"]["name"] for t in body["tools"]]
    return [t["name"] for t in body["tools"]]


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"name": "has space"}, "must match"),
        ({"name": "t", "approval": "maybe"}, "approval must be one of"),
        ({"name": "t", "timeoutMs": 600_001}, "timeoutMs must be between"),
        ({"name": "t", "parameters": {"type": "string"}}, "must describe an object"),
        ({"name": "t", "parameters": {"type": "object", "required": "x"}}, "parameters"),
        ({"name": "t", "parameters": {"anyOf": [{"required": ["a"]}]}}, "top level"),
    ],
)
async def test_bad_tool_specs_are_invalid_params(
    client: Client, spec: dict[str, Any], problem: str
) -> None:
    with pytest.raises(RpcError) as caught:
        await client.chat_new(provider="claude", tools=[spec])
    assert caught.value.reason == "invalid_params" and problem in caught.value.message
    assert caught.value.data["field"] == "tools"


async def test_denied_tools_and_bad_arguments_never_reach_the_client(
    client: Client, fake_server: FakeProviderServer
) -> None:
    client.on_request("tool/call", lambda params: pytest.fail("must not be called"))
    specs = [
        {"name": "nope", "approval": "deny"},
        {"name": "typed", "parameters": {"type": "object", "required": ["n"]}},
    ]
    fake_server.script(
        Reply(calls=[Call("nope", {}, id="d1"), Call("typed", {}, id="d2")]), Reply("ok")
    )
    session = await client.chat_new(provider="claude", tools=specs)
    await client.chat_send("go", session_id=session["sessionId"])
    denied, mistyped = result_texts(fake_server.requests[1])
    assert denied == ("tool nope is denied by the user's configuration", True)
    assert mistyped[1] and "'n' is a required property" in mistyped[0]
