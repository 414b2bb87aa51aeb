"""``chat/ask`` on every HTTP adapter with its real SDK against the fake API server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chatd.core.answers import answer_format
from chatd.core.ask import Ask, AskOutcome
from chatd.core.events import TextDelta, ToolCallStarted
from chatd.errors import InvalidAnswer
from tests.fakes.provider_server import Call, FakeProviderServer, Recorded, Reply
from tests.fakes.wire_checks import problems
from tests.providers import wire
from tests.providers.conftest import HTTP_KINDS, Chat, new_chat, text_tool

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("kind", HTTP_KINDS)]

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "address": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
            "required": ["city", "zip"],
            "additionalProperties": False,
        },
        "tags": {"type": "array", "items": {"type": "string", "enum": ["red", "green"]}},
    },
    "required": ["name", "address", "tags"],
    "additionalProperties": False,
}
ALICE = {"name": "Alice", "address": {"city": "Paris", "zip": "75001"}, "tags": ["red", "green"]}


def answer_reply(kind: str, value: Any) -> Reply:
    """What a model returns when made to answer: Claude's forced call, the others' JSON text."""
    if kind == "claude":
        return Reply(calls=[Call("submit_response", value, id="toolu_answer")])
    return Reply(text=value if isinstance(value, str) else json.dumps(value))


async def ask(chat: Chat, message: str, schema: Any, *, record: bool = True) -> AskOutcome:
    runner = Ask(
        chat.provider,
        chat.conversation,
        chat._record,
        answer=answer_format(schema, None),
        record=record,
    )
    return await runner.run(message)


def schema_sent(kind: str, request: Recorded) -> Any:
    body = request.body
    if kind == "claude":
        assert body["tool_choice"] == {"type": "tool", "name": "submit_response"}
        (tool,) = body["tools"]
        return tool["input_schema"]
    if kind.startswith("openai"):
        assert "tools" not in body
        response_format = body["response_format"]
        assert response_format["type"] == "json_schema"
        assert response_format["json_schema"]["strict"] is True
        return response_format["json_schema"]["schema"]
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert "tools" not in body
    return config["responseJsonSchema"]


def no_answer_format(request: Recorded) -> bool:
    body = request.body
    config = body.get("generationConfig") or {}
    return not (
        {"tool_choice", "response_format"} & set(body)
        or {"responseMimeType", "responseJsonSchema"} & set(config)
    )


async def test_a_nested_answer_is_parsed_recorded_and_a_later_send_is_unaffected(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    weather = text_tool("weather")
    chat = new_chat(make_provider(kind), system_prompt="Be exact.", tools=[weather])
    fake_server.script(answer_reply(kind, ALICE), Reply("plain words"))

    outcome = await ask(chat, "who lives where?", PERSON)
    later = await chat.send("and now talk freely")

    assert outcome.value == ALICE
    assert json.loads(outcome.text) == ALICE
    assert outcome.stop_reason == "end_turn"
    first, second = fake_server.requests
    assert schema_sent(kind, first) == PERSON
    assert wire.system_prompt(first) == "Be exact."
    assert later.text == "plain words"
    assert no_answer_format(second)
    assert wire.turns(second) == [
        ("user", "who lives where?"),
        ("assistant", json.dumps(ALICE)),
        ("user", "and now talk freely"),
    ]
    assert problems(second) == []
    assert [event.text for event in chat.of_type(TextDelta)] == ["plain words"]
    assert chat.of_type(ToolCallStarted) == []


async def test_an_invalid_answer_is_asked_again_with_the_errors(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider(kind))
    wrong = {**ALICE, "tags": ["blue"]}
    fake_server.script(answer_reply(kind, wrong), answer_reply(kind, ALICE), Reply("ok"))

    outcome = await ask(chat, "who?", PERSON)
    await chat.send("next")

    assert outcome.value == ALICE
    reask = fake_server.requests[1]
    assert "'blue' is not one of ['red', 'green']" in json.dumps(reask.body)
    assert problems(reask) == []
    later = fake_server.requests[2]
    assert wire.turns(later) == [
        ("user", "who?"),
        ("assistant", json.dumps(ALICE)),
        ("user", "next"),
    ]
    assert problems(later) == []


async def test_two_invalid_answers_fail_and_leave_the_history_as_it_was(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider(kind))
    fake_server.script(Reply("hello"), Reply("not json at all"), answer_reply(kind, {"name": 3}))
    fake_server.script(Reply("fine"))
    await chat.send("hi")
    before = list(chat.conversation.history)

    with pytest.raises(InvalidAnswer) as failed:
        await ask(chat, "who?", PERSON)

    assert failed.value.reason == "invalid_answer"
    assert any("'address' is a required property" in error for error in failed.value.errors)
    assert chat.conversation.history == before
    await chat.send("still there?")
    assert wire.turns(fake_server.requests[-1])[-1] == ("user", "still there?")
    assert problems(fake_server.requests[-1]) == []


async def test_an_unrecorded_answer_leaves_no_trace(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider(kind))
    schema = {"type": "array", "items": {"type": "integer"}, "minItems": 2}
    fake_server.script(answer_reply(kind, {"value": [1, 2, 3]}), Reply("ok"))

    outcome = await ask(chat, "count", schema, record=False)
    await chat.send("hello")

    assert outcome.value == [1, 2, 3]
    assert schema_sent(kind, fake_server.requests[0])["properties"]["value"] == schema
    assert wire.turns(fake_server.requests[1]) == [("user", "hello")]
