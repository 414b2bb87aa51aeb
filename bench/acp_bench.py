"""ACP front end figures, each beside a baseline measured in the same run.

- start-up: spawn `chatd acp` until its `initialize` answer arrives, beside spawning
  `chatd serve --stdio` until its LSP-framed `initialize` answer (runs interleaved);
- session/load: a 1,000-message conversation replayed (request sent -> every update and the
  answer read by the client), beside `FileStore.load` of the same snapshot (read + decode),
  the session closed between loads so each one reads the store again.

Usage: python bench/acp_bench.py [--quick]
Ends with one line: ``RESULT acp_startup_s=… stdio_startup_s=… startup_ratio=… …``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chatd.acp.connection import AcpConnection
from chatd.acp.methods import AcpMethods
from chatd.config import load_settings
from chatd.core.manager import SessionManager
from chatd.core.providers import ProviderPool
from chatd.core.store.base import Snapshot
from chatd.core.store.filestore import FileStore
from chatd_client import Client, daemon_command

MESSAGES = 1000
NOTIFICATION_START = b'{"jsonrpc":"2.0","method":'


class LineClient:
    """A bare NDJSON client, so the figures are the agent's and not a client library's."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self.reader = process.stdout
        self.writer = process.stdin
        self.ids = itertools.count(1)
        self.notifications = 0
        self.pending = b""

    @classmethod
    async def spawn(cls, env: dict[str, str]) -> LineClient:
        process = await asyncio.create_subprocess_exec(
            *daemon_command("acp"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            limit=2**24,
        )
        return cls(process)

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        request_id = next(self.ids)
        message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        self.writer.write(json.dumps(message).encode() + b"\n")
        while True:
            *lines, self.pending = (self.pending + await self.reader.read(2**20)).split(b"\n")
            for line in lines:
                if line.startswith(NOTIFICATION_START):  # counted, not decoded: the agent is timed
                    self.notifications += 1
                    continue
                answer = json.loads(line)
                if answer.get("id") == request_id:
                    assert "result" in answer and not self.pending, answer
                    return answer["result"]

    async def close(self) -> None:
        self.writer.close()
        await self.process.wait()


async def start_up(env: dict[str, str], runs: int) -> tuple[float, float]:
    """Medians of spawn -> initialize answered: ACP, then LSP-framed stdio, interleaved."""
    acp_times, stdio_times = [], []
    for _ in range(runs):
        start = time.perf_counter()
        agent = await LineClient.spawn(env)
        await agent.call("initialize", {"protocolVersion": 1})
        acp_times.append(time.perf_counter() - start)
        await agent.close()
        start = time.perf_counter()
        client = await Client.spawn_stdio(env=env)
        await client.initialize()
        stdio_times.append(time.perf_counter() - start)
        await client.close()
    return statistics.median(acp_times), statistics.median(stdio_times)


def long_conversation(workspace: str) -> Snapshot:
    """1,000 echo messages of a few hundred characters each, as chatd saves them."""
    now = datetime.now(UTC)
    messages = []
    for number in range(MESSAGES // 2):
        text = f"question {number}: " + "how does this part of the code work? " * 6
        messages += [
            {"role": "user", "content": text},
            {"role": "assistant", "content": f"[{number + 1}] {text}"},
        ]
    return Snapshot(
        id=str(uuid.uuid4()),
        provider="echo",
        model="echo-1",
        messages=messages,
        created_at=now,
        updated_at=now,
        metadata={"workspace": workspace},
        title="a long one",
    )


async def replay(
    env: dict[str, str], snapshot: Snapshot, workspace: str, runs: int, *, cold: bool
) -> float:
    """Median ``session/load``; ``cold`` closes the session between loads (a store read each)."""
    agent = await LineClient.spawn(env)
    await agent.call("initialize", {"protocolVersion": 1})
    params = {"sessionId": snapshot.id, "cwd": workspace, "mcpServers": []}
    times = []
    try:
        for _ in range(runs + 1):  # the first warms the schema import
            before = agent.notifications
            start = time.perf_counter()
            await agent.call("session/load", params)
            times.append(time.perf_counter() - start)
            assert agent.notifications - before == MESSAGES
            if cold:
                await agent.call("session/close", {"sessionId": snapshot.id})
    finally:
        await agent.close()
    return statistics.median(times[1:])


class CountingWriter:
    def __init__(self) -> None:
        self.lines = 0

    def write(self, data: bytes) -> None:
        self.lines += data.count(b"\n")


async def replay_in_process(
    store_dir: Path, snapshot: Snapshot, workspace: str, runs: int
) -> float:
    """The agent's own work for a live ``session/load``, without pipes or a second process."""
    config = store_dir.parent / "config.toml"
    settings = load_settings(config, environ={"CHATD_STORE_DIR": str(store_dir)})
    manager = SessionManager(settings, FileStore(store_dir), ProviderPool(settings.providers))
    writer = CountingWriter()
    methods = AcpMethods(manager, AcpConnection(writer), Path.home())
    params = {"sessionId": snapshot.id, "cwd": workspace, "mcpServers": []}
    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        await methods.session_load(params)
        times.append(time.perf_counter() - start)
    assert writer.lines == (runs + 1) * MESSAGES
    await manager.shutdown()
    return statistics.median(times[1:])


def store_load(store: FileStore, snapshot_id: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        store.load(snapshot_id)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    runs = 5 if parser.parse_args().quick else 11
    with tempfile.TemporaryDirectory(prefix="chatd-acp-bench-") as scratch:
        root = Path(scratch)
        (root / "config.toml").write_text("")
        workspace = str(root / "workspace")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CHATD_")},
            "CHATD_CONFIG": str(root / "config.toml"),
            "CHATD_STORE_DIR": str(root / "store"),
            "CHATD_SOCKET": str(root / "chatd.sock"),
        }
        acp_s, stdio_s = await start_up(env, runs)
        store = FileStore(root / "store")
        snapshot = long_conversation(workspace)
        store.save(snapshot)
        load_s = store_load(store, snapshot.id, runs)
        cold_s = await replay(env, snapshot, workspace, runs, cold=True)
        warm_s = await replay(env, snapshot, workspace, runs, cold=False)
        agent_s = await replay_in_process(root / "store", snapshot, workspace, runs)
    print(f"start-up to initialize: chatd acp {acp_s:.3f} s, chatd serve --stdio {stdio_s:.3f} s")
    print(f"FileStore.load of a {MESSAGES}-message snapshot: {load_s * 1000:.2f} ms")
    print(f"session/load from the store: {cold_s * 1000:.2f} ms ({cold_s / load_s:.2f}x)")
    print(f"session/load of the live session: {warm_s * 1000:.2f} ms ({warm_s / load_s:.2f}x)")
    print(f"  of which the agent's own work: {agent_s * 1000:.2f} ms ({agent_s / load_s:.2f}x)")
    print(
        f"RESULT acp_startup_s={acp_s:.3f} stdio_startup_s={stdio_s:.3f} "
        f"startup_ratio={acp_s / stdio_s:.2f} store_load_ms={load_s * 1000:.2f} "
        f"load_cold_ms={cold_s * 1000:.2f} load_cold_ratio={cold_s / load_s:.2f} "
        f"load_live_ms={warm_s * 1000:.2f} load_live_ratio={warm_s / load_s:.2f} "
        f"load_agent_ms={agent_s * 1000:.2f} load_agent_ratio={agent_s / load_s:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
