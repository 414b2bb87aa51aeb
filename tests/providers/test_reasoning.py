"""Reasoning: streamed as ThinkingDelta, and signatures replayed byte for byte."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from chatd.core.events import TextDelta, ThinkingDelta
from chatd.errors import ProviderFailure
from tests.fakes.provider_server import Call, Fail, FakeProviderServer, Reply, Thought
from tests.fakes.wire_checks import problems
from tests.providers import wire
from tests.providers.conftest import new_chat, text_tool

pytestmark = pytest.mark.anyio

SIGNATURE_BYTES = bytes([0xFB, 0xFF, 0xBE, 0x00, 0x01, 0x7F]) * 5
"""Encodes with ``+`` and ``/`` in standard base64: shows the bytes survive either alphabet."""
SIGNATURE = base64.b64encode(SIGNATURE_BYTES).decode()


async def test_claude_thinking_and_redacted_blocks_replay_exactly(
    make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider("claude"), tools=[text_tool("look", "found")])
    fake_server.script(
        Reply(
            "Looking.",
            thoughts=[Thought("I should look it up.", "EqQBCkYIARgCKkD+/=sig")],
            redacted=["ENCRYPTED+/=="],
            calls=[Call("look", {}, id="toolu_1")],
        ),
        Reply("Found it.", thoughts=[Thought("Done.", "second-sig")]),
        Reply("Bye."),
    )

    await chat.send("find it")
    await chat.send("thanks")

    assert [event.text for event in chat.of_type(ThinkingDelta)] == [
        "I should look it up.",
        "Done.",
    ]
    replay = fake_server.requests[2]
    assert wire.signatures(replay) == ["EqQBCkYIARgCKkD+/=sig", "ENCRYPTED+/==", "second-sig"]
    first_assistant = replay.body["messages"][1]["content"]
    assert [block["type"] for block in first_assistant] == [
        "thinking",
        "redacted_thinking",
        "text",
        "tool_use",
    ]
    assert first_assistant[0] == {
        "type": "thinking",
        "thinking": "I should look it up.",
        "signature": "EqQBCkYIARgCKkD+/=sig",
    }
    assert problems(replay) == []


async def test_claude_thinking_budget_is_requested_with_room_to_answer(
    make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider("claude", thinking_budget=2048, max_tokens=1000))
    fake_server.script(Reply("ok"))

    await chat.send("think")

    body = fake_server.requests[0].body
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["max_tokens"] == 3048


async def test_claude_error_event_inside_a_stream_keeps_its_real_status(
    make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider("claude"))
    fake_server.script(Fail(529, "Overloaded", mid_stream=True))

    with pytest.raises(ProviderFailure) as caught:
        await chat.send("hi")

    assert (caught.value.status, caught.value.retryable) == (529, True)
    assert "Overloaded" in caught.value.message


async def test_gemini_thought_signatures_on_text_and_calls_are_replayed(
    make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider("gemini"), tools=[text_tool("look", "found")])
    fake_server.script(
        Reply(
            "Looking.",
            thoughts=[Thought("Plan: look.", SIGNATURE)],
            calls=[Call("look", {"q": "x"}, signature="Y2FsbC1zaWc=")],
        ),
        Reply("Found."),
    )

    await chat.send("find it")

    assert [event.text for event in chat.of_type(ThinkingDelta)] == ["Plan: look."]
    model_turn = chat.conversation.history[1]
    assert model_turn["parts"][0] == {
        "text": "Plan: look.",
        "thought": True,
        "thoughtSignature": SIGNATURE,
    }
    assert model_turn["parts"][-1]["thoughtSignature"] == "Y2FsbC1zaWc="
    replay = fake_server.requests[1]
    assert wire.signatures(replay) == [SIGNATURE_BYTES, b"call-sig"]
    assert problems(replay) == []


async def test_gemini_streamed_text_merges_only_between_unsigned_parts(
    make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider("gemini"))
    fake_server.script(Reply(["Hel", "lo"], thoughts=[Thought("a", "c2ln")]))

    await chat.send("hi")

    assert chat.conversation.history[1]["parts"] == [
        {"text": "a", "thought": True, "thoughtSignature": "c2ln"},
        {"text": "Hello"},
    ]
    assert [event.text for event in chat.of_type(TextDelta)] == ["Hel", "lo"]


async def test_gemini_function_call_without_id_gets_a_private_one(
    make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider("gemini"), tools=[text_tool("look", "found")])
    fake_server.script(Reply(calls=[Call("look", {})]), Reply("ok"))

    await chat.send("go")

    response = fake_server.requests[1].body["contents"][2]["parts"][0]["functionResponse"]
    assert response == {"name": "look", "response": {"output": "found"}}


async def test_compatible_server_reasoning_is_shown_but_never_sent_back(
    make_provider: Any, fake_server: FakeProviderServer
) -> None:
    chat = new_chat(make_provider("openai-compatible"))
    fake_server.script(Reply("Answer.", thoughts=[Thought("pondering", "")]), Reply("Again."))

    await chat.send("q1")
    await chat.send("q2")

    assert [event.text for event in chat.of_type(ThinkingDelta)] == ["pondering"]
    assert "pondering" not in str(fake_server.requests[1].body)
