"""Editor tests run against the same isolated daemon environment as the integration tests."""

from tests.integration.conftest import daemon_env  # noqa: F401 - a fixture, found by name
