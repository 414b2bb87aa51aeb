"""Provider adapters by kind, each imported on first use so no SDK loads at start-up."""

from __future__ import annotations

import importlib

from chatd.config import ProviderSettings
from chatd.core.providers.base import Provider

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


def build_provider(settings: ProviderSettings) -> Provider:
    return adapter_class(settings.kind)(settings)
