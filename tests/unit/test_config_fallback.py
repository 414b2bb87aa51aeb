"""The ``[fallback]`` table and how a session's chain is chosen from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatd.config import load_settings
from chatd.core.fallback import FallbackChain, chain_for, fallback_reason
from chatd.errors import ConfigError, ProviderFailure
from tests.unit.test_config import write


def test_the_chain_is_read_and_checked(tmp_path: Path) -> None:
    settings = load_settings(
        environ=write(tmp_path, '[fallback]\nproviders = ["claude", "echo"]\n')
    )
    assert settings.fallback == ("claude", "echo")
    with pytest.raises(ConfigError, match="'nope' is not a configured provider"):
        load_settings(environ=write(tmp_path, '[fallback]\nproviders = ["claude", "nope"]\n'))
    with pytest.raises(ConfigError, match="unknown setting provider"):
        load_settings(environ=write(tmp_path, '[fallback]\nprovider = ["claude"]\n'))


def test_a_session_gets_its_own_chain_the_configured_one_or_none() -> None:
    configured = ("claude", "openai", "gemini")
    assert chain_for("claude", configured, None).providers == configured
    assert chain_for("openai", configured, None).providers == ("openai",)
    assert chain_for("claude", configured, []).providers == ("claude",)
    assert chain_for("echo", configured, ["gemini", "echo", "gemini"]).providers == (
        "echo",
        "gemini",
    )


def test_only_a_sane_recorded_chain_is_taken() -> None:
    assert FallbackChain.from_json({"providers": ["a", "b"], "position": 1}) == FallbackChain(
        ("a", "b"), 1
    )
    for bad in (None, [], {"providers": "a"}, {"providers": ["a"], "position": 1}):
        assert FallbackChain.from_json(bad) is None


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (ProviderFailure("x", provider="p", status=429, retryable=True), "status"),
        (ProviderFailure("x", provider="p", status=529, retryable=True), "status"),
        (ProviderFailure("x", provider="p", status=409, retryable=True), None),
        (ProviderFailure("x", provider="p", status=401), None),
        (ProviderFailure("x", provider="p", retryable=True, cause="timeout"), "timeout"),
        (ProviderFailure("x", provider="p", retryable=True, cause="network"), "network"),
        (ProviderFailure("x", provider="p"), None),
    ],
)
def test_only_transient_failures_move_on(failure: ProviderFailure, reason: str | None) -> None:
    assert fallback_reason(failure) == reason
