"""The fault suite: hostile frames, kill -9, shared stores, tampered files, secrets.

``pytest tests/faults --fuzz-long`` runs the long mode (100,000 frames, 1,000 kills) that
``docs/reliability.md`` reports; CI runs the short one.
"""

from __future__ import annotations

import pytest

from tests.integration.conftest import daemon_env, stdio_client

__all__ = ["daemon_env", "stdio_client"]
"""The real-daemon fixtures of the integration tests, shared rather than copied."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fuzz-long",
        action="store_true",
        default=False,
        help="fault suite long mode: 100,000 fuzzed frames and 1,000 kills",
    )


@pytest.fixture(scope="session")
def fuzz_long(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--fuzz-long", default=False))
