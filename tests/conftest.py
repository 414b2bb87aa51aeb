"""Every test starts from a clean environment: no chatd settings, no provider keys.

Under ``CI=true`` a skipped test fails: editor, ACP and MCP tests may skip only on a
developer machine that lacks the binary, never in CI, where `.ci/run` installs them.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

ISOLATED_PREFIXES = ("CHATD_", "ANTHROPIC_", "OPENAI_", "GEMINI_", "GOOGLE_")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(ISOLATED_PREFIXES):
            monkeypatch.delenv(name)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which must run every test: {report.longrepr}"
