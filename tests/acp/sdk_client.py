"""The ACP Python SDK's client side, spawning ``chatd acp``: what a real client sees."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

from acp import spawn_agent_process
from acp.client.connection import ClientSideConnection
from acp.schema import (
    AllowedOutcome,
    ClientCapabilities,
    FileSystemCapabilities,
    ReadTextFileResponse,
    RequestPermissionResponse,
    WriteTextFileResponse,
)

from tests.acp.conftest import AcpEnv


class RecordingClient:
    """An ACP client that keeps every ``session/update`` it is sent, in order, answers
    permission requests with ``decision`` and serves files from ``files``."""

    def __init__(self) -> None:
        self.updates: list[Any] = []
        self.permissions: list[Any] = []
        self.decision = "reject_once"
        self.files: dict[str, str] = {}
        self.asked = asyncio.Event()
        self._changed = asyncio.Event()

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        self.updates.append(update)
        self._changed.set()

    async def wait_for(self, condition: Callable[[], bool]) -> None:
        """Until ``condition`` holds after some update (the bound only stops a broken test)."""
        while not condition():
            self._changed.clear()
            await asyncio.wait_for(self._changed.wait(), 20)

    async def request_permission(
        self, options: list[Any], session_id: str, tool_call: Any, **kwargs: Any
    ) -> RequestPermissionResponse:
        self.permissions.append((tool_call, [option.kind for option in options]))
        self.asked.set()
        if self.decision == "never":
            await asyncio.Event().wait()  # a user who never answers
        chosen = AllowedOutcome(outcome="selected", option_id=self.decision)
        return RequestPermissionResponse(outcome=chosen)

    async def read_text_file(
        self, session_id: str, path: str, **kwargs: Any
    ) -> ReadTextFileResponse:
        return ReadTextFileResponse(content=self.files[path])

    async def write_text_file(
        self, session_id: str, path: str, content: str, **kwargs: Any
    ) -> WriteTextFileResponse:
        self.files[path] = content
        return WriteTextFileResponse()

    def kinds(self) -> list[str]:
        return [update.session_update for update in self.updates]

    def text(self, kind: str) -> str:
        return "".join(u.content.text for u in self.updates if u.session_update == kind)


@contextlib.asynccontextmanager
async def sdk_agent(
    env: AcpEnv, *, fs: bool = False, **extra: str
) -> AsyncIterator[tuple[ClientSideConnection, RecordingClient]]:
    """``chatd acp`` behind the SDK's client; ``fs``: the client offers file access."""
    async with sdk_agent_process(env, fs=fs, **extra) as (connection, recorder, _):
        yield connection, recorder


@contextlib.asynccontextmanager
async def sdk_agent_process(
    env: AcpEnv, *, fs: bool = False, **extra: str
) -> AsyncIterator[tuple[ClientSideConnection, RecordingClient, asyncio.subprocess.Process]]:
    recorder = RecordingClient()
    async with spawn_agent_process(
        recorder,  # type: ignore[arg-type]
        sys.executable,
        "-m",
        "chatd",
        "acp",
        env=env.env(**extra),
        transport_kwargs={"stderr": None},
    ) as (connection, process):
        capabilities = ClientCapabilities(
            fs=FileSystemCapabilities(read_text_file=fs, write_text_file=fs)
        )
        await connection.initialize(protocol_version=1, client_capabilities=capabilities)
        yield connection, recorder, process
