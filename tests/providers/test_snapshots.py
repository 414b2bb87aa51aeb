"""Restoring histories written by the reference Go framework, repairing them, converting them."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from chatd.core.providers.base import Conversation, Provider
from chatd.core.providers.transcript import conversion_warnings
from chatd.core.tools import ToolRegistry
from chatd.core.turns import Turn
from chatd.errors import CorruptSnapshot
from tests.fakes.provider_server import FakeProviderServer, Reply
from tests.fakes.wire_checks import problems
from tests.providers import wire

pytestmark = pytest.mark.anyio

# What anthropic-sdk-go's json.Marshal([]anthropic.MessageParam) writes (keys sorted, as Go does).
CLAUDE_REFERENCE = json.loads("""[
 {"content":[{"text":"What's the weather in Paris?","type":"text"}],"role":"user"},
 {"content":[{"signature":"EqQBCkYIBRgCKkBsig==","thinking":"Use the tool.","type":"thinking"},
             {"text":"Let me check.","type":"text"},
             {"id":"toolu_01A","input":{"city":"Paris"},"name":"get_weather","type":"tool_use"}],
  "role":"assistant"},
 {"content":[{"content":[{"text":"Sunny, 22C","type":"text"}],"is_error":false,
              "tool_use_id":"toolu_01A","type":"tool_result"}],"role":"user"},
 {"content":[{"text":"It's sunny and 22C in Paris.","type":"text"}],"role":"assistant"}
]""")

# openai-go's []ChatCompletionMessageParamUnion: the system message first, even when empty.
OPENAI_REFERENCE = json.loads("""[
 {"content":"You are helpful.","role":"system"},
 {"content":"What's the weather in Paris?","role":"user"},
 {"content":"","role":"assistant","tool_calls":[{"function":{"arguments":"{\\"city\\":\\"Paris\\"}",
   "name":"get_weather"},"id":"call_1","type":"function"}]},
 {"content":"Sunny, 22C","role":"tool","tool_call_id":"call_1"},
 {"content":"It's sunny and 22C in Paris.","role":"assistant"}
]""")

# google.golang.org/genai []*genai.Content: camelCase, []byte as standard base64, no call ids.
GEMINI_REFERENCE = json.loads("""[
 {"parts":[{"text":"What's the weather in Paris?"}],"role":"user"},
 {"parts":[{"text":"Let me check."},
           {"functionCall":{"args":{"city":"Paris"},"name":"get_weather"},
            "thoughtSignature":"+/++AAE="}],"role":"model"},
 {"parts":[{"functionResponse":{"name":"get_weather","response":{"result":"Sunny, 22C"}}}],
  "role":"user"},
 {"parts":[{"text":"It's sunny and 22C in Paris."}],"role":"model"}
]""")

REFERENCES = {
    "claude": CLAUDE_REFERENCE,
    "openai": OPENAI_REFERENCE,
    "openai-compatible": OPENAI_REFERENCE,
    "gemini": GEMINI_REFERENCE,
}

DROPPED = {"claude": "1 thinking block, 1 signature", "openai": "", "gemini": "1 signature"}
"""What each reference holds that no other provider can take."""


async def _continue(provider: Provider, history: list[Any], system_prompt: str = "") -> None:
    conversation = Conversation(provider.model, system_prompt, history)
    await Turn(provider, conversation, ToolRegistry(), lambda event: None, max_steps=4).run(
        "And tomorrow?"
    )


@pytest.mark.parametrize("kind", sorted(REFERENCES))
async def test_a_reference_snapshot_restores_and_continues_natively(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    provider = make_provider(kind)
    stored = copy.deepcopy(REFERENCES[kind])

    history = provider.validate_history(stored)
    fake_server.script(Reply("Rain tomorrow."))
    await _continue(provider, history, system_prompt="You are helpful.")

    request = fake_server.requests[0]
    assert problems(request) == []
    sent = request.body["contents"] if kind == "gemini" else request.body["messages"]
    if kind == "gemini":
        # the SDK re-encodes bytes URL-safe; proto3 JSON accepts either alphabet, same bytes
        assert wire.signatures(request) == [bytes([0xFB, 0xFF, 0xBE, 0x00, 0x01])]
        unsigned = [[_unsigned(part) for part in content["parts"]] for content in sent[:4]]
        assert unsigned == [[_unsigned(part) for part in c["parts"]] for c in GEMINI_REFERENCE]
    else:
        assert sent[: len(stored)] == REFERENCES[kind]
    assert wire.turns(request)[-1] == ("user", "And tomorrow?")


def _unsigned(part: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in part.items() if key != "thoughtSignature"}


async def test_snake_case_gemini_history_is_accepted_and_normalised(make_provider: Any) -> None:
    snake = [
        {"role": "user", "parts": [{"text": "hi"}]},
        {
            "role": "model",
            "parts": [
                {"function_call": {"name": "f", "args": {}}, "thought_signature": "c2ln"},
            ],
        },
        {
            "role": "user",
            "parts": [{"function_response": {"name": "f", "response": {"output": "x"}}}],
        },
    ]

    history = make_provider("gemini").validate_history(snake)

    assert history[1]["parts"] == [
        {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "c2ln"}
    ]
    assert "functionResponse" in history[2]["parts"][0]


GARBAGE = {
    "claude": [
        ["not a message"],
        [{"role": "robot", "content": "hi"}],
        [{"role": "user", "content": 42}],
        [{"role": "user", "content": [{"text": "no type"}]}],
        [{"role": "assistant", "content": [{"type": "tool_use", "name": "f", "input": {}}]}],
    ],
    "openai": [
        [{"role": "wizard", "content": "hi"}],
        [{"role": "tool", "content": "x"}],
        [{"role": "assistant", "tool_calls": [{"id": "c", "function": "f"}]}],
    ],
    "gemini": [
        [{"role": "user", "parts": "hi"}],
        [{"role": "assistant", "parts": [{"text": "hi"}]}],
        [{"role": "user", "parts": [{"bogus": 1}]}],
    ],
}


@pytest.mark.parametrize(
    ("kind", "messages"),
    [(kind, messages) for kind, cases in GARBAGE.items() for messages in cases],
)
async def test_garbage_histories_are_corrupt_snapshots(
    kind: str, messages: list[Any], make_provider: Any
) -> None:
    with pytest.raises(CorruptSnapshot):
        make_provider(kind).validate_history(messages)


@pytest.mark.parametrize("kind", ["claude", "openai", "gemini"])
async def test_dangling_tool_calls_in_a_restored_history_are_closed(
    kind: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    """The reference's aborted streams save a tool call without its result."""
    provider = make_provider(kind)
    reference = copy.deepcopy(REFERENCES[kind])
    dangling = reference[: 3 if kind == "openai" else 2]

    history = provider.validate_history(dangling)
    fake_server.script(Reply("ok"))
    await _continue(provider, history)

    request = fake_server.requests[0]
    assert problems(request) == []
    assert wire.tool_results(request)[0][2] is True


async def test_the_references_empty_text_blocks_are_dropped(
    make_provider: Any, fake_server: FakeProviderServer
) -> None:
    empty = [
        {"content": [{"text": "hi", "type": "text"}], "role": "user"},
        {"content": [{"text": "", "type": "text"}], "role": "assistant"},
        {"content": [{"text": "hello?", "type": "text"}], "role": "user"},
        {
            "content": [{"text": " ", "type": "text"}, {"text": "yes", "type": "text"}],
            "role": "assistant",
        },
    ]
    history = make_provider("claude").validate_history(empty)

    assert history == [
        empty[0],
        empty[2],
        {"content": [{"text": "yes", "type": "text"}], "role": "assistant"},
    ]


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (source, target)
        for source in ("claude", "openai", "gemini")
        for target in ("claude", "openai", "gemini", "claude-local")
        if source != target
    ],
)
async def test_conversion_keeps_text_and_tools_and_lists_what_it_dropped(
    source: str, target: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    origin = make_provider(source)
    items = origin.transcript(origin.validate_history(copy.deepcopy(REFERENCES[source])))
    destination = make_provider(target) if target != "claude-local" else _local_provider()

    history, own_warnings = destination.from_transcript(items, "You are helpful.")

    dropped = f"converted from {source} into {target}: dropped {DROPPED[source]}"
    assert conversion_warnings(items, source, target) == ([dropped] if DROPPED[source] else [])
    assert len(own_warnings) == (target == "claude-local")
    converted = destination.transcript(destination.validate_history(history))
    assert [item.text for item in converted if item.role == "user"][
        0
    ] == "What's the weather in Paris?"
    assert [item.text for item in converted if item.text][-1] == "It's sunny and 22C in Paris."
    if target == "claude-local":
        return
    calls = [call for item in converted for call in item.tool_calls]
    results = [result for item in converted for result in item.tool_results]
    assert [(call.name, call.arguments) for call in calls] == [("get_weather", {"city": "Paris"})]
    assert [result.content for result in results] == ["Sunny, 22C"]
    fake_server.script(Reply("Rain."))
    await _continue(destination, history, "You are helpful.")
    assert problems(fake_server.requests[0]) == []


def _local_provider() -> Provider:
    from chatd.config import ProviderSettings
    from chatd.core.providers import build_provider
    from chatd.core.providers.worker import StreamWorker

    return build_provider(
        ProviderSettings(name="claude-local", kind="claude-local"), StreamWorker()
    )


@pytest.mark.parametrize("kind", ["claude", "openai", "gemini"])
async def test_transcript_is_the_neutral_view_an_editor_renders(
    kind: str, make_provider: Any
) -> None:
    provider = make_provider(kind)
    items = provider.transcript(provider.validate_history(copy.deepcopy(REFERENCES[kind])))

    assert [item.role for item in items] == ["user", "assistant", "tool", "assistant"]
    call = items[1].tool_calls[0]
    result = items[2].tool_results[0]
    assert call.name == "get_weather"
    assert items[1].text == ("" if kind == "openai" else "Let me check.")
    assert (result.call_id, result.name, result.content) == (call.id, "get_weather", "Sunny, 22C")


IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}
THINKING = {"type": "thinking", "thinking": "Hmm.", "signature": "c2ln"}
ATTACHMENTS = {
    "claude": (
        [
            {"role": "user", "content": [{"type": "text", "text": "Look:"}, IMAGE]},
            {
                "role": "assistant",
                "content": [
                    THINKING,
                    {"type": "redacted_thinking", "data": "cmVk"},
                    {"type": "tool_use", "id": "toolu_1", "name": "snap", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [IMAGE]}],
            },
            {"role": "assistant", "content": [THINKING, {"type": "text", "text": "A cat."}]},
            {"role": "user", "content": [{"type": "text", "text": "Search for cats."}]},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "server_tool_use",
                        "id": "srvtoolu_1",
                        "name": "web_search",
                        "input": {"query": "cats"},
                    },
                    {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
                    {"type": "text", "text": "Cats are popular."},
                ],
            },
        ],
        "2 thinking blocks, 2 signatures, 1 redacted thinking block, 1 image, "
        "1 server_tool_use block, 1 web_search_tool_result block",  # the user's image is carried
    ),
    "gemini": (
        [
            {"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": "AAAA"}}]},
            {"role": "model", "parts": [{"text": "Hmm.", "thought": True}, {"text": "A cat."}]},
            {
                "role": "user",
                "parts": [{"fileData": {"mimeType": "application/pdf", "fileUri": "gs://b/f"}}],
            },
            {
                "role": "model",
                "parts": [
                    {"executableCode": {"language": "PYTHON", "code": "print(2 + 2)"}},
                    {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "4"}},
                    {"text": "It is 4."},
                ],
            },
        ],
        "1 thinking block, 1 file, 1 executable code part, 1 code execution result",
    ),
    "openai": (
        [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}
                ],
            },
            {"role": "assistant", "content": None, "refusal": "I can't help with that."},
        ],
        "1 refusal",
    ),
}


@pytest.mark.parametrize("source", sorted(ATTACHMENTS))
async def test_conversion_counts_each_kind_of_part_it_drops(
    source: str, make_provider: Any, fake_server: FakeProviderServer
) -> None:
    stored, dropped = ATTACHMENTS[source]
    origin = make_provider(source)
    items = origin.transcript(origin.validate_history(copy.deepcopy(stored)))

    assert conversion_warnings(items, source, "claude") == [
        f"converted from {source} into claude: dropped {dropped}"
    ]
