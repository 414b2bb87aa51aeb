"""Base-URL rules and API-key resolution, checked before any request is made."""

from __future__ import annotations

import sys
import threading
import types
from typing import Any

import pytest

from chatd.config import ProviderSettings, Secret, load_settings
from chatd.core.providers import build_provider
from chatd.core.providers.credentials import require_api_key, resolve_api_key
from chatd.core.providers.endpoints import validate_base_url
from chatd.core.providers.worker import StreamWorker
from chatd.errors import ProviderUnavailable

ACCEPTED = [
    "https://api.anthropic.com",
    "HTTPS://api.openai.com/v1",
    "https://gateway.example-corp.io:8443/v1?team=a",
    "https://fooexample.com",
    "https://ollama.test/v1",
    "http://localhost:11434/v1",
    "http://127.0.0.1:8080",
    "http://127.1.2.3:8080",
    "http://[::1]:8000/v1",
]

REJECTED = [
    ("https://" + "a" * 2100 + ".com", "longer than"),
    ("https://api.openai.com/v1\n", "control characters"),
    ("https://api.openai.com/\x7f", "control characters"),
    ("https://api.openai.com/\u0085", "control characters"),
    ("https://user:hunter2@api.openai.com", "credentials"),
    ("https://token@api.openai.com", "credentials"),
    ("http://api.openai.com/v1", "must use https"),
    ("http://10.0.0.5:11434", "must use https"),
    ("ftp://api.openai.com", "https://"),
    ("https://", "no host"),
    ("https://api.example.com/v1", "placeholder"),
    ("https://EXAMPLE.org", "placeholder"),
    ("https://example.net.", "placeholder"),
    ("https://localhost.localdomain", "placeholder"),
    ("https://llm.example", "placeholder"),
    ("https://llm.invalid", "placeholder"),
    ("https://api.openai.com:99999", "not a valid URL"),
]


@pytest.mark.parametrize("url", ACCEPTED)
def test_accepted_base_urls(url: str) -> None:
    assert validate_base_url(url, provider="p") == url


@pytest.mark.parametrize(("url", "why"), REJECTED)
def test_rejected_base_urls_say_why_without_echoing_the_url(url: str, why: str) -> None:
    with pytest.raises(ProviderUnavailable) as caught:
        validate_base_url(url, provider="p")
    assert why in caught.value.message
    assert "hunter2" not in caught.value.message


def test_a_bad_base_url_is_refused_before_any_key_is_looked_up() -> None:
    settings = ProviderSettings(name="claude", kind="claude", base_url="http://evil.test")
    with pytest.raises(ProviderUnavailable, match="https"):
        build_provider(settings, StreamWorker()).check_available()


def _settings(**values: Any) -> ProviderSettings:
    return ProviderSettings(name="openai", kind="openai", **values)


def test_key_resolution_order_config_then_keyring_then_conventional_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stored = {("chatd", "openai"): " from-keyring "}
    fake = types.SimpleNamespace(get_password=lambda service, user: stored.get((service, user)))
    monkeypatch.setitem(sys.modules, "keyring", fake)
    env = Secret("from-env")

    configured = _settings(api_key=Secret("from-config"), env_api_key=env)
    assert resolve_api_key(configured).reveal() == "from-config"  # type: ignore[union-attr]

    from_keyring = resolve_api_key(_settings(env_api_key=env, env_api_key_var="OPENAI_API_KEY"))
    assert from_keyring is not None and from_keyring.reveal() == "from-keyring"
    assert "keyring" in from_keyring.source

    stored.clear()
    from_env = resolve_api_key(_settings(env_api_key=env, env_api_key_var="OPENAI_API_KEY"))
    assert from_env is not None and from_env.reveal() == "from-env"
    assert from_env.source == "$OPENAI_API_KEY"


@pytest.mark.anyio
async def test_the_first_key_lookup_asks_the_keyring_off_the_event_loop_and_only_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked_on: list[int] = []

    def get_password(service: str, user: str) -> str:
        asked_on.append(threading.get_ident())  # an unlock prompt could block here for minutes
        return "from-keyring"

    monkeypatch.setitem(sys.modules, "keyring", types.SimpleNamespace(get_password=get_password))
    provider = build_provider(ProviderSettings(name="claude", kind="claude"), StreamWorker())

    await provider.ready()
    await provider.ready()

    assert len(asked_on) == 1 and asked_on[0] != threading.get_ident()


def test_a_broken_keyring_backend_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(service: str, user: str) -> str:
        raise RuntimeError("no backend")

    monkeypatch.setitem(sys.modules, "keyring", types.SimpleNamespace(get_password=broken))
    key = resolve_api_key(_settings(env_api_key=Secret("env")))
    assert key is not None and key.reveal() == "env"


def test_missing_keyring_package_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)  # import keyring → ImportError
    assert resolve_api_key(_settings()) is None


def test_config_sources_are_named_for_messages(tmp_path: Any) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[providers.claude]\napi_key_env = "MY_CLAUDE_KEY"\n[providers.gemini]\napi_key = "k"\n'
    )
    settings = load_settings(config, {"MY_CLAUDE_KEY": "secret-value", "GOOGLE_API_KEY": "g"})

    claude = require_api_key(settings.providers["claude"])
    gemini = settings.providers["gemini"]
    assert claude.source == "$MY_CLAUDE_KEY"
    assert require_api_key(gemini).source == "api_key in [providers.gemini]"
    assert gemini.env_api_key_var == "GOOGLE_API_KEY"


def test_missing_key_names_the_variables_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)
    settings = ProviderSettings(name="work", kind="gemini", api_key_env="WORK_GEMINI_KEY")

    with pytest.raises(ProviderUnavailable) as caught:
        build_provider(settings, StreamWorker()).check_available()

    message = caught.value.message
    assert "$WORK_GEMINI_KEY" in message and "$GEMINI_API_KEY" in message
    assert "[providers.work]" in message


@pytest.mark.anyio
async def test_openai_compatible_needs_no_key_and_sends_a_placeholder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)
    settings = ProviderSettings(
        name="ollama",
        kind="openai-compatible",
        base_url="http://localhost:11434/v1",
        model="llama3",
    )
    provider = build_provider(settings, StreamWorker())
    provider.check_available()
    client: Any = await provider.client()  # type: ignore[attr-defined]
    assert client.api_key == "not-needed"
    await provider.aclose()


def test_keys_never_show_in_reprs() -> None:
    key = require_api_key(_settings(api_key=Secret("sk-very-secret")))
    assert "sk-very-secret" not in repr(key) and "sk-very-secret" not in str(key)
