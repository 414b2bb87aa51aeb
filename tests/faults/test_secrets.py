"""No secret (a provider's API key, the store key) in any answer, notification, log line,
stderr or file, even when the provider echoes the key back in its error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatd_client import Client, RpcError
from tests.fakes.provider_server import Fail, FakeProviderServer, Reply
from tests.integration.conftest import DaemonEnv
from tests.providers.test_daemon_providers import DAEMON_KINDS, provider_config

pytestmark = pytest.mark.anyio


@pytest.fixture
def daemon_env(tmp_path: Path, fake_server: FakeProviderServer) -> Iterator[DaemonEnv]:
    env = DaemonEnv(tmp_path, tmp_path / "run")
    env.config.write_text("".join(provider_config(kind, fake_server.url) for kind in DAEMON_KINDS))
    yield env


async def test_no_secret_reaches_logs_snapshots_or_answers(
    daemon_env: DaemonEnv, fake_server: FakeProviderServer
) -> None:
    api_key, store_key = "sk-ant-do-not-leak-0123", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    log = daemon_env.root / "daemon.log"
    config = daemon_env.config.read_text().replace('api_key = "test-key"', f'api_key = "{api_key}"')
    daemon_env.config.write_text(f'[daemon]\nlog_level = "debug"\nlog_file = "{log}"\n' + config)
    fake_server.script(Reply("Hello."), Fail(401, f"invalid x-api-key {api_key}"))
    answers: list[Any] = []
    client = await Client.spawn_stdio(env=daemon_env.env(CHATD_STORE_KEY=store_key))
    client.on_notification(lambda method, params: answers.append(params))
    try:
        answers.append(await client.initialize("pytest"))
        answers.append(await client.request("chat/send", {"message": "hi"}))
        session_id = answers[-1]["sessionId"]
        with pytest.raises(RpcError) as caught:
            await client.request("chat/send", {"sessionId": session_id, "message": "again"})
        answers.append([caught.value.message, caught.value.data])
        answers.append(await client.request("store/list"))
    finally:
        await client.close()
    assert caught.value.data["status"] == 401
    assert log.stat().st_size > 0, "the debug log should have something to check"
    written = [log.read_bytes(), client.stderr_text().encode(), repr(answers).encode()]
    written += [path.read_bytes() for path in daemon_env.store_dir.rglob("*") if path.is_file()]
    for blob in written:
        assert api_key.encode() not in blob
        assert store_key.encode() not in blob
