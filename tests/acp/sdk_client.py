"""The ACP Python SDK's client side, spawning ``chatd acp``: what a real client sees."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from typing import Any

from acp import spawn_agent_process
from acp.client.connection import ClientSideConnection

from tests.acp.conftest import AcpEnv


class RecordingClient:
    """An ACP client that keeps every ``session/update`` it is sent, in order."""

    def __init__(self) -> None:
        self.updates: list[Any] = []

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        self.updates.append(update)

    async def request_permission(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("chatd asked for a permission this test does not expect")

    def kinds(self) -> list[str]:
        return [update.session_update for update in self.updates]

    def text(self, kind: str) -> str:
        return "".join(u.content.text for u in self.updates if u.session_update == kind)


@contextlib.asynccontextmanager
async def sdk_agent(
    env: AcpEnv, **extra: str
) -> AsyncIterator[tuple[ClientSideConnection, RecordingClient]]:
    recorder = RecordingClient()
    async with spawn_agent_process(
        recorder,  # type: ignore[arg-type]
        sys.executable,
        "-m",
        "chatd",
        "acp",
        env=env.env(**extra),
        transport_kwargs={"stderr": None},
    ) as (connection, _process):
        await connection.initialize(protocol_version=1)
        yield connection, recorder
