"""The ``claude-local`` adapter: the installed Claude Code CLI as a subprocess, one per step.

The prompt goes to the CLI on stdin and the system prompt in a private temporary file, never in
argv (where ``ps`` shows it and ``ARG_MAX`` bounds it). Output is
``--output-format stream-json --verbose --include-partial-messages``: one JSON object per line
(``system`` init, ``stream_event`` deltas, ``assistant``/``user`` messages, and a final
``result`` with the text, ``session_id`` and ``usage``). The CLI keeps the conversation itself;
its session id lives in ``conversation.state`` and is passed back with ``--resume``. The CLI
runs its own tools, so a step never returns tool calls, and chatd cannot save this
conversation (``persistent = False``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import anyio
from anyio.abc import ByteReceiveStream
from anyio.streams.buffered import BufferedByteReceiveStream

from chatd.core.attachments import Attachment
from chatd.core.events import TextDelta, ThinkingDelta
from chatd.core.providers.base import (
    Conversation,
    Emit,
    Provider,
    StepResult,
    ToolResult,
    TranscriptItem,
    Usage,
)
from chatd.core.providers.claude_history import usage_of
from chatd.core.providers.sdk_errors import scrub
from chatd.core.providers.transcript import require
from chatd.errors import ProviderFailure, ProviderUnavailable

log = logging.getLogger(__name__)

DEFAULT_COMMAND = "claude"
DEFAULT_TIMEOUT_S = 600.0
"""A whole CLI run, tools included; a hung CLI is killed rather than holding the session."""

MAX_LINE_BYTES = 64 * 1024 * 1024
"""One stream-json line: a big file read by the CLI's tools fits, a runaway stream does not."""

STDERR_TAIL_BYTES = 4096
"""Enough of stderr to explain a failure; the rest is drained and dropped."""

SESSION_KEY = "cli_session_id"
STOP_REASONS = frozenset({"end_turn", "max_tokens", "stop_sequence", "refusal"})
CONTEXT_HEADER = "Earlier conversation, for context:"


class ClaudeLocalProvider(Provider):
    kind: ClassVar[str] = "claude-local"
    default_model: ClassVar[str] = ""
    """Empty: the CLI's own default model unless config or the session names one."""
    persistent: ClassVar[bool] = False

    @property
    def command(self) -> str:
        return self.settings.command or DEFAULT_COMMAND

    def check_available(self) -> None:
        """:raises ProviderUnavailable: naming the missing executable."""
        self._executable()

    def user_message(self, text: str, attachments: Sequence[Attachment] = ()) -> Any:
        return {"role": "user", "content": text}

    def assistant_message(self, text: str) -> Any:
        return {"role": "assistant", "content": text}

    async def step(self, conversation: Conversation, emit: Emit) -> StepResult:
        run = _Run(emit)
        args = self._arguments(conversation)
        try:
            with (
                _system_prompt_file(conversation.system_prompt) as system_file,
                anyio.fail_after(self.settings.timeout_s or DEFAULT_TIMEOUT_S),
            ):
                if system_file is not None:
                    args += ["--system-prompt-file", system_file]
                returncode = await _execute(args, _prompt(conversation), run)
        except TimeoutError:
            raise ProviderFailure(
                f"{self.name}: the CLI did not finish in time",
                provider=self.name,
                retryable=True,
                cause="timeout",
            ) from None
        except OSError as exc:
            raise ProviderFailure(
                f"{self.name}: cannot run the CLI: {exc.strerror}", provider=self.name
            ) from None
        if run.session_id:
            conversation.state[SESSION_KEY] = run.session_id
        return run.result(self.name, returncode)

    def tool_result_messages(self, results: list[ToolResult]) -> list[Any]:
        return []

    def transcript(self, history: list[Any]) -> list[TranscriptItem]:
        return [TranscriptItem(message["role"], text=message["content"]) for message in history]

    def from_transcript(
        self, items: list[TranscriptItem], system_prompt: str
    ) -> tuple[list[Any], list[str]]:
        history = [
            {"role": item.role, "content": item.text}
            for item in items
            if item.role in ("user", "assistant") and item.text
        ]
        tool_items = sum(1 for item in items if item.tool_calls or item.tool_results)
        if not tool_items:
            return history, []
        return history, [
            f"{self.name} runs its own tools: {tool_items} tool calls or results were dropped; "
            "the earlier text reaches the CLI as context with the next message"
        ]

    def validate_history(self, messages: list[Any]) -> list[Any]:
        for index, message in enumerate(super().validate_history(messages)):
            require(
                message.get("role") in ("user", "assistant")
                and isinstance(message.get("content"), str),
                self.name,
                index,
                "entries need role user/assistant and string content",
            )
        return messages

    def _executable(self) -> str:
        path = shutil.which(self.command)
        if path is None:
            raise ProviderUnavailable(
                f"{self.name}: the Claude Code CLI {self.command!r} was not found on PATH; "
                f"install Claude Code or set command in [providers.{self.name}]",
                provider=self.name,
            )
        return path

    def _arguments(self, conversation: Conversation) -> list[str]:
        args = [self._executable(), "-p", "--output-format", "stream-json", "--verbose"]
        args.append("--include-partial-messages")
        model = conversation.model or self.model
        if model:
            args += ["--model", model]
        session = conversation.state.get(SESSION_KEY)
        if session:
            args += ["--resume", str(session)]
        if conversation.answer is not None:
            args += ["--json-schema", json.dumps(conversation.answer.wire_schema)]
        return args


@contextlib.contextmanager
def _system_prompt_file(system_prompt: str) -> Iterator[str | None]:
    """The system prompt in a private file for the CLI: argv would show it to ``ps``."""
    if not system_prompt:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="chatd-") as directory:
        path = os.path.join(directory, "system-prompt.txt")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(system_prompt)
        yield path


async def _execute(args: list[str], prompt: str, run: _Run) -> int:
    """Run the CLI to completion; cancelling kills it (anyio's process exit does)."""
    async with await anyio.open_process(
        args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdin and process.stdout and process.stderr
        async with anyio.create_task_group() as group:
            group.start_soon(run.drain_stderr, process.stderr)
            try:
                await process.stdin.send(prompt.encode())
                await process.stdin.aclose()
            except anyio.BrokenResourceError:
                log.debug("claude-local: the CLI exited before reading its prompt")
            await run.read(process.stdout)
        return await process.wait()


def _prompt(conversation: Conversation) -> str:
    """The new message; a conversation converted from elsewhere sends its earlier text once."""
    history = conversation.history
    prompt = str(history[-1]["content"])
    if conversation.state.get(SESSION_KEY) or len(history) < 2:
        return prompt
    earlier = "\n\n".join(f"{item['role'].title()}: {item['content']}" for item in history[:-1])
    return f"{CONTEXT_HEADER}\n\n{earlier}\n\n---\n\n{prompt}"


@dataclass
class _Run:
    """What one CLI run printed, folded as it arrives."""

    emit: Emit
    session_id: str | None = None
    streamed: bool = False
    texts: list[str] = field(default_factory=list)
    final: dict[str, Any] | None = None
    stderr: bytearray = field(default_factory=bytearray)

    async def read(self, stdout: ByteReceiveStream) -> None:
        buffered = BufferedByteReceiveStream(stdout)
        while True:
            try:
                line = await buffered.receive_until(b"\n", MAX_LINE_BYTES)
            except (anyio.EndOfStream, anyio.IncompleteRead):
                return
            if line.strip():
                self._line(line)

    async def drain_stderr(self, stderr: ByteReceiveStream) -> None:
        async for chunk in stderr:
            self.stderr += chunk
            del self.stderr[:-STDERR_TAIL_BYTES]

    def _line(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            log.debug("claude-local: skipped a line that is not JSON")
            return
        if not isinstance(message, dict):
            return
        self.session_id = message.get("session_id") or self.session_id
        kind = message.get("type")
        if kind == "stream_event":
            self._stream_event(message.get("event") or {})
        elif kind == "assistant":
            self._assistant(message.get("message") or {})
        elif kind == "result":
            self.final = message

    def _stream_event(self, event: dict[str, Any]) -> None:
        delta = event.get("delta") or {}
        if event.get("type") != "content_block_delta":
            return
        self.streamed = True
        if delta.get("type") == "text_delta" and delta.get("text"):
            self.emit(TextDelta(delta["text"]))
        elif delta.get("type") == "thinking_delta" and delta.get("thinking"):
            self.emit(ThinkingDelta(delta["thinking"]))

    def _assistant(self, message: dict[str, Any]) -> None:
        for block in message.get("content") or ():
            if block.get("type") == "text" and block.get("text"):
                self.texts.append(block["text"])
                if not self.streamed:
                    self.emit(TextDelta(block["text"]))
            elif block.get("type") == "thinking" and block.get("thinking") and not self.streamed:
                self.emit(ThinkingDelta(block["thinking"]))

    def result(self, provider: str, returncode: int) -> StepResult:
        final = self.final
        if final is None or final.get("is_error"):
            raise self._failure(provider, returncode, final)
        text = final.get("result")
        text = text if isinstance(text, str) else "\n\n".join(self.texts)
        if "structured_output" in final:  # the answer to --json-schema
            text = json.dumps(final["structured_output"])
        stop = final.get("stop_reason")
        raw_usage = final.get("usage")
        usage = usage_of(raw_usage) if isinstance(raw_usage, dict) else Usage()
        messages = [{"role": "assistant", "content": text}] if text.strip() else []
        return StepResult(messages, text, stop if stop in STOP_REASONS else "end_turn", usage)

    def _failure(
        self, provider: str, returncode: int, final: dict[str, Any] | None
    ) -> ProviderFailure:
        if final is not None:
            detail = final.get("result") or final.get("subtype") or "unknown error"
            return ProviderFailure(
                f"{provider}: the CLI reported an error: {scrub(str(detail), None)}",
                provider=provider,
            )
        stderr = scrub(self.stderr.decode(errors="replace"), None)
        why = f"exited with status {returncode}" if returncode else "printed no result"
        return ProviderFailure(
            f"{provider}: the CLI {why}" + (f": {stderr}" if stderr else ""), provider=provider
        )
