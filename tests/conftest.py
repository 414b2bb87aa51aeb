"""Every test starts from a clean environment: no chatd settings, no provider keys."""

from __future__ import annotations

import os

import pytest

ISOLATED_PREFIXES = ("CHATD_", "ANTHROPIC_", "OPENAI_", "GEMINI_", "GOOGLE_")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(ISOLATED_PREFIXES):
            monkeypatch.delenv(name)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
