"""ACP front end figures, each beside a baseline measured in the same run.

- start-up: spawn `chatd acp` until its `initialize` answer arrives, beside spawning
  `chatd serve --stdio` until its LSP-framed `initialize` answer (runs interleaved);
- session/load: a 1,000-message conversation replayed (request sent -> every update and the
  answer read by the client), from the store and live, and the agent's own share of it,
  each timed right after a `FileStore.load` of the same snapshot (read + decode); the
  ratios are the medians of those per-run ratios, so a busy moment weighs on both sides.
- the same 1,000 texts as a Claude conversation (one text block each), loaded from the store
  beside its own `FileStore.load`: a real provider's history costs more than echo's strings.
- the floor: a bare process that, for each request, does the baseline's `FileStore.load` and
  writes back the agent's own replay bytes, made beforehand (blocking I/O, no event loop, no
  thread, no provider, transcript or encoding): what any agent that reads the snapshot and
  sends the replay over a pipe pays before doing any work of its own.

Usage: python bench/acp_bench.py [--quick]   (``--floor-agent STORE REPLAY`` is the floor's child)
Ends with one line: ``RESULT acp_startup_s=… stdio_startup_s=… startup_ratio=… …``.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
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
READ_BUFFER = 4 * 2**20
CONFIG = 'default_provider = "echo"\n[providers.claude]\napi_key = "offline: never sent"\n'
"""Claude configured (a key, never used: a load makes no API call) so its snapshot loads."""


class LineClient:
    """The barest NDJSON client, so the figures are the agent's and not a client's: blocking
    reads into one buffer made once (fresh memory for each 430 KB replay cost the client
    about 280 page faults, near 1 ms on this VM), the lines before the answer counted rather
    than decoded; ``check`` decodes every one of them, outside the timed runs."""

    def __init__(self, env: dict[str, str], command: list[str] | None = None) -> None:
        self.process = subprocess.Popen(
            command or daemon_command("acp"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            bufsize=0,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin = self.process.stdin
        self.stdout = self.process.stdout.fileno()
        self.ids = itertools.count(1)
        self.notifications = 0
        self.buffer = bytearray(READ_BUFFER)  # zero-filled: its pages are touched once, here
        self.updates = b""
        """The lines before the last checked answer, as they came."""

    def call(self, method: str, params: dict[str, Any], *, check: bool = False) -> Any:
        request_id = next(self.ids)
        message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        self.stdin.write(json.dumps(message).encode() + b"\n")
        buffer, view, size = self.buffer, memoryview(self.buffer), 0
        while True:
            size += os.readv(self.stdout, [view[size:]])
            assert size < len(buffer), "the answer did not fit the read buffer"
            if buffer[size - 1] != ord("\n"):
                continue
            last = buffer.rfind(b"\n", 0, size - 1) + 1
            answer = json.loads(buffer[last:size])
            if answer.get("id") != request_id:
                continue  # the read ended on a notification
            assert "result" in answer, answer
            self.notifications += buffer.count(b"\n", 0, last)
            if check:
                self.updates = bytes(buffer[:last])
                for line in self.updates.splitlines():
                    assert json.loads(line)["method"] == "session/update", line
            return answer["result"]

    def close(self) -> None:
        self.stdin.close()
        self.process.wait()


def serve_floor(store_dir: str, replay_file: str) -> None:
    """The floor's agent: each request line gets ``FileStore.load`` of its session, then the
    replay bytes read at start and an empty result, in one write (no copy) when the pipe
    takes it."""
    store, replay = FileStore(Path(store_dir)), Path(replay_file).read_bytes()
    fcntl.fcntl(1, fcntl.F_SETPIPE_SZ, 2**20)  # as the agent does
    for line in sys.stdin.buffer:
        request = json.loads(line)
        store.load(request["params"]["sessionId"])
        answer = b'{"jsonrpc":"2.0","id":%d,"result":{}}\n' % request["id"]
        sent = os.writev(1, [replay, answer])
        if sent < len(replay) + len(answer):  # the client left the pipe full
            rest = memoryview(replay + answer)[sent:]
            while rest:
                rest = rest[os.write(1, rest) :]


def start_up(
    loop: asyncio.AbstractEventLoop, env: dict[str, str], runs: int
) -> tuple[float, float]:
    """Medians of spawn -> initialize answered: ACP, then LSP-framed stdio, interleaved."""
    acp_times, stdio_times = [], []
    for _ in range(runs):
        start = time.perf_counter()
        agent = LineClient(env)
        agent.call("initialize", {"protocolVersion": 1})
        acp_times.append(time.perf_counter() - start)
        agent.close()
        start = time.perf_counter()
        stdio_times.append(loop.run_until_complete(stdio_start_up(env)))
    return statistics.median(acp_times), statistics.median(stdio_times)


async def stdio_start_up(env: dict[str, str]) -> float:
    start = time.perf_counter()
    client = await Client.spawn_stdio(env=env)
    await client.initialize()
    elapsed = time.perf_counter() - start
    await client.close()
    return elapsed


def long_conversation(workspace: str, provider: str = "echo") -> Snapshot:
    """1,000 messages of a few hundred characters each, as chatd saves them: plain strings
    for echo, one text block each for claude (the Messages API's form)."""
    now = datetime.now(UTC)
    messages: list[dict[str, Any]] = []
    for number in range(MESSAGES // 2):
        text = f"question {number}: " + "how does this part of the code work? " * 6
        for role, content in (("user", text), ("assistant", f"[{number + 1}] {text}")):
            if provider == "claude":
                messages.append({"role": role, "content": [{"type": "text", "text": content}]})
            else:
                messages.append({"role": role, "content": content})
    return Snapshot(
        id=str(uuid.uuid4()),
        provider=provider,
        model=f"{provider}-1",
        messages=messages,
        created_at=now,
        updated_at=now,
        metadata={"workspace": workspace},
        title="a long one",
    )


class Replays:
    """The three ways of timing one ``session/load``, each a call taking the same params.

    From the store: an agent that closes the session after each load, so the next one reads
    the store and checks the history again. Live: an agent that keeps it in memory. The
    agent's own work: the same live handler run in this process with a writer that only
    counts lines (no pipe, no second process).
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, env: dict[str, str], store_dir: Path, params: Any
    ) -> None:
        self.loop, self.params, self.env = loop, params, env
        self.cold, self.live = LineClient(env), LineClient(env)
        self.checked: set[LineClient] = set()
        self.floor_client: LineClient | None = None
        for agent in (self.cold, self.live):
            agent.call("initialize", {"protocolVersion": 1})
        settings = load_settings(
            store_dir.parent / "config.toml", environ={"CHATD_STORE_DIR": str(store_dir)}
        )
        store = FileStore(store_dir)
        self.manager = SessionManager(settings, store, ProviderPool(settings.providers))
        self.writer = CountingWriter()
        self.methods = AcpMethods(self.manager, AcpConnection(self.writer), Path.home())

    def from_store(self) -> None:
        self._through(self.cold)
        self.cold.call("session/close", {"sessionId": self.params["sessionId"]})

    def from_memory(self) -> None:
        self._through(self.live)

    def in_process(self) -> None:
        before = self.writer.lines
        self.loop.run_until_complete(self.methods.session_load(self.params))
        assert self.writer.lines - before == MESSAGES

    def _through(self, agent: LineClient) -> None:
        before = agent.notifications
        agent.call("session/load", self.params, check=agent not in self.checked)
        self.checked.add(agent)
        assert agent.notifications - before == MESSAGES

    def floor(self, scratch: Path) -> Callable[[], None]:
        """The floor's timed call, its agent started on the live agent's replay bytes."""
        self.from_memory()  # checked before: its lines are kept
        replay = scratch / "replay.ndjson"
        replay.write_bytes(self.live.updates)
        store_dir = scratch / "store"
        command = [sys.executable, __file__, "--floor-agent", str(store_dir), str(replay)]
        floor_client = self.floor_client = LineClient(self.env, command)
        return lambda: self._through(floor_client)

    def close(self) -> None:
        self.cold.close()
        self.live.close()
        if self.floor_client is not None:
            self.floor_client.close()
        self.loop.run_until_complete(self.manager.shutdown())


class CountingWriter:
    def __init__(self) -> None:
        self.lines = 0

    def write(self, data: bytes) -> None:
        self.lines += data.count(b"\n")


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def interleaved(
    baseline: Callable[[], object], measures: dict[str, Callable[[], object]], runs: int
) -> tuple[float, dict[str, tuple[float, float]]]:
    """Each run times the baseline, then every measure right after it: the medians of the
    baseline and of each measure, and the median of each measure's per-run ratio."""
    for action in (baseline, *measures.values()):  # warm: schema import, first read
        action()
    base_times: list[float] = []
    times: dict[str, list[float]] = {name: [] for name in measures}
    ratios: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(runs):
        base = timed(baseline)
        base_times.append(base)
        for name, action in measures.items():
            elapsed = timed(action)
            times[name].append(elapsed)
            ratios[name].append(elapsed / base)
    return statistics.median(base_times), {
        name: (statistics.median(times[name]), statistics.median(ratios[name])) for name in measures
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    parser.add_argument("--floor-agent", nargs=2, metavar=("STORE", "REPLAY"), help="internal")
    args = parser.parse_args()
    if args.floor_agent:
        serve_floor(*args.floor_agent)
        return
    quick = args.quick
    loop = asyncio.new_event_loop()
    with tempfile.TemporaryDirectory(prefix="chatd-acp-bench-") as scratch:
        root = Path(scratch)
        (root / "config.toml").write_text(CONFIG)
        workspace = str(root / "workspace")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CHATD_")},
            "CHATD_CONFIG": str(root / "config.toml"),
            "CHATD_STORE_DIR": str(root / "store"),
            "CHATD_SOCKET": str(root / "chatd.sock"),
        }
        acp_s, stdio_s = start_up(loop, env, 5 if quick else 11)
        store = FileStore(root / "store")
        snapshot, claude = long_conversation(workspace), long_conversation(workspace, "claude")
        store.save(snapshot)
        store.save(claude)
        params = {"sessionId": snapshot.id, "cwd": workspace, "mcpServers": []}
        replays = Replays(loop, env, root / "store", params)
        claude_replays = Replays(loop, env, root / "store", {**params, "sessionId": claude.id})
        try:
            load_s, figures = interleaved(
                lambda: store.load(snapshot.id),
                {
                    "cold": replays.from_store,
                    "live": replays.from_memory,
                    "agent": replays.in_process,
                    "floor": replays.floor(root),
                },
                21 if quick else 101,
            )
            claude_load_s, claude_figures = interleaved(
                lambda: store.load(claude.id),
                {"claude": claude_replays.from_store},
                21 if quick else 101,
            )
        finally:
            replays.close()
            claude_replays.close()
    loop.close()
    (cold_s, cold_x), (live_s, live_x), (agent_s, agent_x), (floor_s, floor_x) = figures.values()
    ((claude_s, claude_x),) = claude_figures.values()
    print(f"start-up to initialize: chatd acp {acp_s:.3f} s, chatd serve --stdio {stdio_s:.3f} s")
    print(f"FileStore.load of a {MESSAGES}-message snapshot: {load_s * 1000:.2f} ms")
    print(f"session/load from the store: {cold_s * 1000:.2f} ms ({cold_x:.2f}x)")
    print(f"session/load of the live session: {live_s * 1000:.2f} ms ({live_x:.2f}x)")
    print(f"  of which the agent's own work: {agent_s * 1000:.2f} ms ({agent_x:.2f}x)")
    print(
        f"floor (read + decode, then the same bytes down a pipe): {floor_s * 1000:.2f} ms "
        f"({floor_x:.2f}x)"
    )
    print(
        f"the same as a Claude conversation, from the store: {claude_s * 1000:.2f} ms "
        f"({claude_x:.2f}x its FileStore.load, {claude_load_s * 1000:.2f} ms)"
    )
    print(
        f"RESULT acp_startup_s={acp_s:.3f} stdio_startup_s={stdio_s:.3f} "
        f"startup_ratio={acp_s / stdio_s:.2f} store_load_ms={load_s * 1000:.2f} "
        f"load_cold_ms={cold_s * 1000:.2f} load_cold_ratio={cold_x:.2f} "
        f"load_live_ms={live_s * 1000:.2f} load_live_ratio={live_x:.2f} "
        f"load_agent_ms={agent_s * 1000:.2f} load_agent_ratio={agent_x:.2f} "
        f"floor_ms={floor_s * 1000:.2f} floor_ratio={floor_x:.2f} "
        f"load_cold_vs_floor={cold_s / floor_s:.2f} "
        f"claude_store_load_ms={claude_load_s * 1000:.2f} claude_cold_ms={claude_s * 1000:.2f} "
        f"claude_cold_ratio={claude_x:.2f}"
    )


if __name__ == "__main__":
    main()
