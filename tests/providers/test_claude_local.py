"""claude-local against a fake ``claude`` executable placed on PATH."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from chatd.config import ProviderSettings
from chatd.core.events import TextDelta, ThinkingDelta
from chatd.core.providers import build_provider
from chatd.core.providers.base import Provider, TranscriptItem
from chatd.core.providers.worker import StreamWorker
from chatd.errors import ProviderFailure, ProviderUnavailable
from tests.providers.conftest import Chat, new_chat

pytestmark = pytest.mark.anyio

FAKE_CLI = Path(__file__).parent.parent / "fakes" / "fake_claude.py"


class FakeCli:
    def __init__(self, directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.log = directory / "calls.jsonl"
        executable = directory / "claude"
        executable.write_text(f"#!{sys.executable}\n" + FAKE_CLI.read_text())
        executable.chmod(0o755)
        monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ.get('PATH', '')}")
        monkeypatch.setenv("FAKE_CLAUDE_LOG", str(self.log))
        self.monkeypatch = monkeypatch

    def mode(self, mode: str) -> None:
        self.monkeypatch.setenv("FAKE_CLAUDE_MODE", mode)

    def calls(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def fake_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCli:
    return FakeCli(tmp_path, monkeypatch)


def local(**values: Any) -> Provider:
    return build_provider(
        ProviderSettings(name="claude-local", kind="claude-local", **values), StreamWorker()
    )


async def test_a_missing_executable_is_unavailable_and_named() -> None:
    provider = local(command="no-such-claude-cli")

    with pytest.raises(ProviderUnavailable, match="no-such-claude-cli"):
        provider.check_available()
    assert provider.persistent is False


async def test_prompt_goes_on_stdin_and_the_session_resumes(fake_cli: FakeCli) -> None:
    provider = local(model="sonnet")
    provider.check_available()
    chat = new_chat(provider, system_prompt="Be brief.")

    first = await chat.send("secret plans")
    second = await chat.send("more")

    assert (first.text, second.text) == ("heard: secret plans", "heard: more")
    calls = fake_cli.calls()
    assert [call["stdin"] for call in calls] == ["secret plans", "more"]
    assert all("secret plans" not in call["argv"] for call in calls)
    first_argv, second_argv = calls[0]["argv"], calls[1]["argv"]
    assert "--resume" not in first_argv
    session = chat.conversation.state["cli_session_id"]
    assert second_argv[second_argv.index("--resume") + 1] == session
    assert first_argv[first_argv.index("--model") + 1] == "sonnet"
    assert "Be brief." not in " ".join(first_argv) and "--system-prompt" not in first_argv
    assert (calls[0]["system_prompt"], calls[0]["system_prompt_mode"]) == ("Be brief.", "0o600")
    assert first_argv[first_argv.index("--output-format") + 1] == "stream-json"
    assert "".join(e.text for e in chat.of_type(TextDelta)) == "heard: secret plansheard: more"
    assert not chat.of_type(ThinkingDelta), "thinking arrives whole only without partial messages"
    usage = first.usage
    assert (usage.input_tokens, usage.output_tokens, usage.cached_tokens) == (13, 5, 10)
    assert [item.role for item in provider.transcript(chat.conversation.history)] == [
        "user",
        "assistant",
        "user",
        "assistant",
    ]


async def test_an_error_result_fails_the_turn_and_rolls_back(fake_cli: FakeCli) -> None:
    fake_cli.mode("error")
    chat = new_chat(local())

    with pytest.raises(ProviderFailure, match="the model is unavailable"):
        await chat.send("hi")
    assert chat.conversation.history == []


async def test_a_crashing_cli_reports_its_stderr(fake_cli: FakeCli) -> None:
    fake_cli.mode("crash")
    chat = new_chat(local())

    with pytest.raises(ProviderFailure) as caught:
        await chat.send("hi")
    assert "status 3" in caught.value.message and "Invalid API key" in caught.value.message


async def test_cancelling_kills_the_cli_and_keeps_the_partial_text(fake_cli: FakeCli) -> None:
    fake_cli.mode("hang")
    chat = new_chat(local())

    async with anyio.create_task_group() as group:
        group.start_soon(chat.send, "long job")
        await chat.until(lambda: chat.of_type(TextDelta))
        group.cancel_scope.cancel()

    assert chat.conversation.history[-1] == {"role": "assistant", "content": "heard: "}
    with pytest.raises(ProcessLookupError):
        os.kill(fake_cli.calls()[0]["pid"], 0)


async def test_a_hung_cli_times_out(fake_cli: FakeCli) -> None:
    fake_cli.mode("hang")
    chat = new_chat(local(timeout_s=0.5))

    with pytest.raises(ProviderFailure, match="did not finish") as caught:
        await chat.send("hi")
    assert caught.value.retryable


async def test_a_converted_conversation_sends_its_earlier_text_once(fake_cli: FakeCli) -> None:
    provider = local()
    items = [
        TranscriptItem("user", text="What is 2+2?"),
        TranscriptItem("assistant", text="4"),
    ]
    history, warnings = provider.from_transcript(items, "")
    chat = Chat(provider, new_chat(provider).conversation)
    chat.conversation.history = history

    await chat.send("and 3+3?")
    await chat.send("thanks")

    first, second = (call["stdin"] for call in fake_cli.calls())
    assert "User: What is 2+2?" in first and "Assistant: 4" in first
    assert first.endswith("and 3+3?")
    assert second == "thanks"
    assert warnings == []
