"""``chat/ask`` on claude-local (``--json-schema`` to a fake CLI) and on echo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatd.config import ProviderSettings
from chatd.core.answers import example_value, validation_errors
from chatd.core.providers.echo import EchoProvider
from chatd.errors import InvalidAnswer
from tests.providers.conftest import new_chat
from tests.providers.test_ask import ALICE, PERSON, ask
from tests.providers.test_claude_local import FakeCli, local

pytestmark = pytest.mark.anyio


@pytest.fixture
def fake_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCli:
    return FakeCli(tmp_path, monkeypatch)


async def test_claude_local_passes_the_schema_and_reads_the_structured_output(
    fake_cli: FakeCli,
) -> None:
    fake_cli.monkeypatch.setenv("FAKE_CLAUDE_ANSWER", json.dumps(ALICE))
    provider = local()
    provider.check_available()
    chat = new_chat(provider)

    outcome = await ask(chat, "who?", PERSON)
    later = await chat.send("thanks")

    assert outcome.value == ALICE
    first, second = fake_cli.calls()
    assert json.loads(first["argv"][first["argv"].index("--json-schema") + 1]) == PERSON
    assert "--json-schema" not in second["argv"]
    assert "--resume" in second["argv"]
    assert later.text == "heard: thanks"
    assert [message["role"] for message in chat.conversation.history] == ["user", "assistant"] * 2


async def test_claude_local_asks_once_more_then_fails(fake_cli: FakeCli) -> None:
    fake_cli.monkeypatch.setenv("FAKE_CLAUDE_ANSWER", json.dumps({"name": "Bob"}))
    provider = local()
    provider.check_available()
    chat = new_chat(provider)

    with pytest.raises(InvalidAnswer):
        await ask(chat, "who?", PERSON)

    first, second = fake_cli.calls()
    assert "does not match the required JSON schema" in second["stdin"]
    assert chat.conversation.history == [] and chat.conversation.state == {}


SCHEMAS = [
    PERSON,
    {"type": "string", "enum": ["low", "high"]},
    {"type": "array", "items": {"type": "integer", "minimum": 3}, "minItems": 2},
    {"type": "object", "properties": {"n": {"type": ["null", "number"]}}, "required": ["n"]},
    {"type": "string", "minLength": 10},
]


@pytest.mark.parametrize("schema", SCHEMAS)
async def test_echo_answers_a_deterministic_valid_value(schema: dict[str, object]) -> None:
    chat = new_chat(EchoProvider(ProviderSettings(name="echo", kind="echo")))

    first = await ask(chat, "q", schema, record=False)
    second = await ask(chat, "q", schema)

    assert first.value == second.value == example_value(schema)
    assert validation_errors(first.value, schema) == []
    assert chat.conversation.history[-1] == {
        "role": "assistant",
        "content": json.dumps(first.value),
    }
