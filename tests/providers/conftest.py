"""Fixtures for in-process provider tests: a fake API server, settings and a turn runner."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

from chatd.config import ProviderSettings, Secret
from chatd.core.events import TurnEvent
from chatd.core.providers import build_provider
from chatd.core.providers.base import Conversation, Provider
from chatd.core.providers.worker import StreamWorker
from chatd.core.store.base import ToolSpec
from chatd.core.tools import Tool, ToolRegistry
from chatd.core.turns import Turn, TurnOutcome
from tests.fakes.provider_server import FakeProviderServer

HTTP_KINDS = ("claude", "openai", "openai-compatible", "gemini")


def settings_for(kind: str, server: FakeProviderServer, **overrides: Any) -> ProviderSettings:
    """Settings pointing ``kind`` at the fake server, with no retries unless asked."""
    base_url = server.url + "/v1" if kind.startswith("openai") else server.url
    values: dict[str, Any] = {
        "name": kind,
        "kind": kind,
        "base_url": base_url,
        "api_key": Secret("test-key"),
        "api_key_source": "config",
        "max_retries": 0,
        "model": "local-model" if kind == "openai-compatible" else None,
    }
    values.update(overrides)
    return ProviderSettings(**values)


@pytest.fixture
async def make_provider(fake_server: FakeProviderServer) -> AsyncIterator[Any]:
    """Adapters as the daemon builds them: the HTTP ones stream on their own worker loop."""
    built: list[Provider] = []
    worker = StreamWorker()

    def make(kind: str, **overrides: Any) -> Provider:
        provider = build_provider(settings_for(kind, fake_server, **overrides), worker)
        provider.check_available()
        built.append(provider)
        return provider

    yield make
    for provider in built:
        await provider.aclose()
    await anyio.to_thread.run_sync(worker.stop)


@dataclass
class Chat:
    """One conversation driven turn by turn, recording every event."""

    provider: Provider
    conversation: Conversation
    tools: ToolRegistry = field(default_factory=ToolRegistry)
    events: list[TurnEvent] = field(default_factory=list)
    max_steps: int = 20
    last_turn: Turn | None = None
    _progress: anyio.Event = field(default_factory=anyio.Event)

    def _record(self, event: TurnEvent) -> None:
        self.events.append(event)
        self._progress.set()

    async def until(self, condition: Callable[[], object], timeout_s: float = 10.0) -> None:
        """Wait for events until ``condition`` holds (the bound only stops a broken test)."""
        with anyio.fail_after(timeout_s):
            while not condition():
                self._progress = anyio.Event()
                await self._progress.wait()

    async def send(self, message: str) -> TurnOutcome:
        self.last_turn = Turn(
            self.provider,
            self.conversation,
            self.tools,
            self._record,
            max_steps=self.max_steps,
        )
        return await self.last_turn.run(message)

    def of_type(self, kind: type[Any]) -> list[Any]:
        return [event for event in self.events if isinstance(event, kind)]


def new_chat(provider: Provider, system_prompt: str = "", tools: list[Tool] | None = None) -> Chat:
    registry = ToolRegistry(tools or [])
    conversation = Conversation(
        model=provider.model,
        system_prompt=system_prompt,
        history=provider.start_history(system_prompt),
        tools=registry.specs(),
    )
    return Chat(provider, conversation, registry)


def text_tool(name: str, reply: str | None = None, *, fail: bool = False) -> Tool:
    """A tool answering ``reply`` (default: its arguments echoed) or raising."""

    async def handler(arguments: dict[str, Any]) -> str:
        if fail:
            raise RuntimeError(f"{name} broke")
        return reply if reply is not None else f"{name}({sorted(arguments.items())})"

    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    return Tool(ToolSpec(name=name, description=f"the {name} tool", parameters=schema), handler)
