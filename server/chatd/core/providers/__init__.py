"""Provider adapters by kind, each imported on first use so no SDK loads at start-up."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass

import anyio

from chatd.config import ProviderSettings
from chatd.core.providers.base import Provider
from chatd.core.providers.remote import RemoteProvider
from chatd.core.providers.worker import StreamWorker
from chatd.errors import ChatdError, ProviderUnavailable

ADAPTERS: dict[str, str] = {
    "echo": "chatd.core.providers.echo:EchoProvider",
    "claude": "chatd.core.providers.claude:ClaudeProvider",
    "openai": "chatd.core.providers.openai:OpenAIProvider",
    "openai-compatible": "chatd.core.providers.openai:OpenAICompatibleProvider",
    "gemini": "chatd.core.providers.gemini:GeminiProvider",
    "claude-local": "chatd.core.providers.claude_local:ClaudeLocalProvider",
}


def adapter_class(kind: str) -> type[Provider]:
    module_name, class_name = ADAPTERS[kind].split(":")
    cls: type[Provider] = getattr(importlib.import_module(module_name), class_name)
    return cls


def build_provider(settings: ProviderSettings, worker: StreamWorker) -> Provider:
    """The HTTP adapters stream on ``worker``; echo and claude-local stay on the caller's loop
    (their cost per event is a few µs, not the SDKs' hundreds)."""
    cls = adapter_class(settings.kind)
    if issubclass(cls, RemoteProvider):
        return cls(settings, worker)
    return cls(settings)


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    name: str
    kind: str
    persistent: bool
    streaming: bool
    available: bool


class ProviderPool:
    """Adapters built once, on first use, from the configured providers; closed at shutdown,
    with the stream worker their SDK clients live on."""

    def __init__(self, settings: Mapping[str, ProviderSettings]) -> None:
        self._settings = settings
        self._built: dict[str, Provider] = {}
        self._worker = StreamWorker()

    def get(self, name: str) -> Provider:
        """Callable from a worker thread too (a session restored off the loop picks its
        provider there): building an adapter has no side effect, so two threads building
        the same one keep whichever lands first.

        :raises ProviderUnavailable: no provider of that name is configured.
        """
        built = self._built.get(name)
        if built is None:
            settings = self._settings.get(name)
            if settings is None:
                usable = ", ".join(n for n, s in self._settings.items() if s.usable())
                raise ProviderUnavailable(
                    f"unknown provider {name!r}; configured providers: {usable}", provider=name
                )
            built = self._built.setdefault(name, build_provider(settings, self._worker))
        return built

    def for_stamp(self, stamp: str, endpoint: str | None) -> Provider:
        """The provider that wrote a snapshot: its named endpoint if configured, else by kind.

        :raises ProviderUnavailable: no configured provider accepts that stamp.
        """
        if endpoint and endpoint in self._settings:
            return self.get(endpoint)
        if stamp in self._settings:
            return self.get(stamp)
        for name in self._settings:
            if self.get(name).accepts_snapshot_of(stamp):
                return self.get(name)
        raise ProviderUnavailable(
            f"no configured provider can continue a {stamp!r} conversation", provider=stamp
        )

    async def describe(self) -> list[ProviderInfo]:
        infos = []
        for name, settings in self._settings.items():
            cls = adapter_class(settings.kind)
            try:
                await self.get(name).ready()
                available = True
            except ChatdError:
                available = False
            infos.append(
                ProviderInfo(name, settings.kind, cls.persistent, cls.streaming, available)
            )
        return infos

    async def aclose(self) -> None:
        for provider in self._built.values():
            await provider.aclose()
        self._built.clear()
        await anyio.to_thread.run_sync(self._worker.stop)
