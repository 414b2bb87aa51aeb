"""Streaming through the daemon beside the Anthropic SDK alone, on the same fake server, one run.

- overhead: one stream at a time, daemon and SDK alternating: time to first token, and each
  delta's delivery latency (the fake server stamps every delta with CLOCK_MONOTONIC, which is
  system-wide, so the receiver measures server → receiver); the daemon's added cost per delta
  is its latency minus the SDK's;
- load: 100 concurrent streaming turns through one daemon over its socket, while a separate
  process pings ``daemon/status`` every 10 ms (its latency is the daemon's event-loop lag),
  beside the same pings to the idle daemon; throughput beside the SDK alone running the same
  100 streams in one process; the daemon's CPU time per delta from /proc.

Usage: python bench/stream_bench.py [--quick]
Ends with one line: ``RESULT ttft_added_ms=… delta_added_p99_ms=… loop_lag_p99_ms=… …``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from anthropic import AsyncAnthropic

from chatd_client import Client, daemon_command

MODEL = "claude-bench"
PING_INTERVAL_S = 0.01
IDLE_PING_S = 2.0
LOAD_DELTAS = 100
LOAD_DELAYS_MS = (30.0, 80.0)
"""Pauses between deltas: ~33/s per stream is Claude's brisk pace (60-100 tokens/s, two or
three tokens a delta), 12.5/s a calm one; 100 streams ask for ~3,300 and ~1,250 deltas/s."""

PING_SCRIPT = r"""
import asyncio, json, sys, time
from chatd_client import Client

async def main(path):
    client = await Client.connect_unix(path)
    await client.initialize("ping")
    stop = asyncio.Event()
    asyncio.get_running_loop().add_reader(sys.stdin.fileno(), stop.set)
    samples = []
    while not stop.is_set():
        start = time.perf_counter()
        await client.request("daemon/status", {})
        samples.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(INTERVAL)
    await client.close()
    print(json.dumps(samples))

INTERVAL = float(sys.argv[2])
asyncio.run(main(sys.argv[1]))
"""


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def p99(samples: list[float]) -> float:
    return percentile(samples, 0.99)


def delivery_ms(text: str, now_ns: int) -> float:
    return (now_ns - int(text.rstrip("|"))) / 1e6


STAMP = "@@now@@"
"""Replaced in each delta, as it is written, by the server's CLOCK_MONOTONIC in ns: the clock
is system-wide, so the receiving process measures the delta's delivery latency."""


def anthropic_events(deltas: int) -> list[bytes]:
    """The SSE events of one streamed Messages reply whose text deltas are stamps."""
    usage = {"input_tokens": 10, "output_tokens": 1}
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": MODEL}
    message |= {"content": [], "stop_reason": None, "usage": usage}
    events: list[tuple[str, Any]] = [
        ("message_start", {"type": "message_start", "message": message})
    ]
    block = {"type": "text", "text": ""}
    events.append(
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block})
    )
    delta = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": STAMP + "|"},
    }
    events += [("content_block_delta", delta)] * deltas
    events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
    end = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn"},
        "usage": {"output_tokens": deltas},
    }
    events += [("message_delta", end), ("message_stop", {"type": "message_stop"})]
    return [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events]


async def serve(deltas: int, delay_ms: float) -> None:
    """A fake Anthropic API on asyncio: a threaded one costs more CPU than the daemon it feeds."""
    events = anthropic_events(deltas)
    stamp = STAMP.encode()

    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        head += b"transfer-encoding: chunked\r\n\r\n"
        try:
            while headers := await reader.readuntil(b"\r\n\r\n"):
                length = next(
                    int(line.split(b":")[1])
                    for line in headers.lower().split(b"\r\n")
                    if line.startswith(b"content-length:")
                )
                await reader.readexactly(length)
                writer.write(head)
                for number, event in enumerate(events):
                    if number > 1 and delay_ms:
                        await asyncio.sleep(delay_ms / 1000)
                    data = event.replace(stamp, b"%d" % time.monotonic_ns())
                    writer.write(b"%x\r\n%s\r\n" % (len(data), data))
                writer.write(b"0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(reply, "127.0.0.1", 0, backlog=1024)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"http://{host}:{port}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    server.close()


@contextmanager
def fake_server(deltas: int, delay_ms: float) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(deltas), str(delay_ms)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdin is not None
    try:
        yield process.stdout.readline().strip()
    finally:
        process.stdin.close()
        process.wait(timeout=30)


@contextmanager
def daemon(config: str) -> Iterator[tuple[Path, int]]:
    root = Path(tempfile.mkdtemp(prefix="chatd-bench-", dir="/tmp"))
    (root / "config.toml").write_text(config)
    socket = root / "chatd.sock"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CHATD_", "ANTHROPIC_"))
    }
    env |= {
        "CHATD_CONFIG": str(root / "config.toml"),
        "CHATD_STORE_DIR": str(root / "store"),
        "CHATD_SOCKET": str(socket),
    }
    process = subprocess.Popen(
        daemon_command("serve", "--socket"), env=env, stdin=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while not socket.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the daemon did not start")
            time.sleep(0.02)
        yield socket, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Stream:
    """What one streamed turn delivered: time to first token, per-delta delivery latency."""

    def __init__(self) -> None:
        self.start_ns = time.monotonic_ns()
        self.first_ns = 0
        self.latencies: list[float] = []

    def delta(self, text: str) -> None:
        now = time.monotonic_ns()
        self.first_ns = self.first_ns or now
        self.latencies.append(delivery_ms(text, now))

    @property
    def ttft_ms(self) -> float:
        return (self.first_ns - self.start_ns) / 1e6


async def sdk_stream(sdk: AsyncAnthropic) -> Stream:
    stream = Stream()
    messages: Any = [{"role": "user", "content": [{"type": "text", "text": "go"}]}]
    async with sdk.messages.stream(model=MODEL, max_tokens=1024, messages=messages) as events:
        async for event in events:
            if event.type == "text":
                stream.delta(event.text)
    return stream


class DaemonStreams:
    """Routes ``chat/update`` text deltas to the turn waiting for them."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.open: dict[str, Stream] = {}
        client.on_notification(self._on_update)

    def _on_update(self, method: str, params: Any) -> None:
        if method == "chat/update" and params.get("kind") == "text":
            self.open[params["sessionId"]].delta(params["text"])

    async def new_session(self, provider: str) -> str:
        """Ephemeral: the turn's autosave is the store's cost (bench/store_bench.py), not
        streaming's, and on this small machine it would blur what is measured here."""
        params = {"provider": provider, "ephemeral": True}
        created = await self.client.request("chat/new", params)
        return str(created["sessionId"])

    async def turn(self, session_id: str) -> Stream:
        stream = self.open[session_id] = Stream()
        await self.client.request("chat/send", {"sessionId": session_id, "message": "go"})
        return stream


async def overhead(socket: Path, url: str, rounds: int) -> dict[str, float]:
    sdk = AsyncAnthropic(api_key="bench-key", base_url=url, max_retries=0)
    client = await Client.connect_unix(socket)
    await client.initialize("bench")
    streams = DaemonStreams(client)
    daemon_runs: list[Stream] = []
    sdk_runs: list[Stream] = []
    for number in range(rounds + 1):  # the first round warms both up and is dropped
        session_id = await streams.new_session("claude")
        daemon_run = await streams.turn(session_id)
        sdk_run = await sdk_stream(sdk)
        if number:
            daemon_runs.append(daemon_run)
            sdk_runs.append(sdk_run)
    await client.close()
    await sdk.close()
    daemon_delta = [latency for run in daemon_runs for latency in run.latencies]
    sdk_delta = [latency for run in sdk_runs for latency in run.latencies]
    return {
        "ttft_daemon": p50([run.ttft_ms for run in daemon_runs]),
        "ttft_sdk": p50([run.ttft_ms for run in sdk_runs]),
        "delta_daemon_p50": p50(daemon_delta),
        "delta_sdk_p50": p50(sdk_delta),
        "delta_daemon_p99": p99(daemon_delta),
        "delta_sdk_p99": p99(sdk_delta),
    }


async def pings_during(socket: Path, work: Any) -> tuple[list[float], Any]:
    pinger = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        PING_SCRIPT,
        str(socket),
        str(PING_INTERVAL_S),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert pinger.stdin is not None
    result = await work
    pinger.stdin.close()
    output, _ = await pinger.communicate()
    return json.loads(output), result


async def load(socket: Path, pid: int, provider: str, url: str, sessions: int) -> dict[str, float]:
    client = await Client.connect_unix(socket)
    await client.initialize("bench-load")
    streams = DaemonStreams(client)
    ids = [await streams.new_session(provider) for _ in range(sessions)]
    idle, _ = await pings_during(socket, asyncio.sleep(IDLE_PING_S))

    async def all_turns() -> tuple[list[Stream], float, float]:
        cpu = cpu_seconds(pid)
        start = time.perf_counter()
        runs = await asyncio.gather(*(streams.turn(session_id) for session_id in ids))
        return runs, time.perf_counter() - start, cpu_seconds(pid) - cpu

    busy, (runs, elapsed, cpu) = await pings_during(socket, all_turns())
    await client.close()

    sdk = AsyncAnthropic(api_key="bench-key", base_url=url, max_retries=0)
    start = time.perf_counter()
    sdk_runs = await asyncio.gather(*(sdk_stream(sdk) for _ in range(sessions)))
    sdk_elapsed = time.perf_counter() - start
    await sdk.close()

    deltas = sum(len(run.latencies) for run in runs)
    sdk_deltas = sum(len(run.latencies) for run in sdk_runs)
    return {
        "lag_idle_p50": p50(idle),
        "lag_idle_p99": p99(idle),
        "lag_p50": p50(busy),
        "lag_p99": p99(busy),
        "lag_max": max(busy),
        "pings": len(busy),
        "deltas": deltas,
        "throughput": deltas / elapsed,
        "sdk_throughput": sdk_deltas / sdk_elapsed,
        "turns_per_s": sessions / elapsed,
        "cpu_us_per_delta": cpu / deltas * 1e6,
        "load_delta_p99": p99([latency for run in runs for latency in run.latencies]),
        "load_sdk_delta_p99": p99([latency for run in sdk_runs for latency in run.latencies]),
    }


def provider_config(name: str, url: str) -> str:
    return (
        f'[providers.{name}]\nkind = "claude"\nbase_url = "{url}"\napi_key = "bench-key"\n'
        f'model = "{MODEL}"\nmax_retries = 0\n'
    )


async def run(args: argparse.Namespace) -> None:
    rounds, sessions = (8, 20) if args.quick else (40, 100)
    with contextlib.ExitStack() as stack:
        overhead_url = stack.enter_context(fake_server(deltas=100, delay_ms=1))
        load_urls = [
            stack.enter_context(fake_server(deltas=LOAD_DELTAS, delay_ms=delay))
            for delay in LOAD_DELAYS_MS
        ]
        config = provider_config("claude", overhead_url)
        config += "".join(provider_config(f"load{n}", url) for n, url in enumerate(load_urls))
        socket, pid = stack.enter_context(daemon(config))
        over = await overhead(socket, overhead_url, rounds)
        loads = [
            await load(socket, pid, f"load{n}", url, sessions) for n, url in enumerate(load_urls)
        ]
    report(over, loads, rounds, sessions)


def report(
    over: dict[str, float], loads: list[dict[str, float]], rounds: int, sessions: int
) -> None:
    ttft_added = over["ttft_daemon"] - over["ttft_sdk"]
    added_p50 = over["delta_daemon_p50"] - over["delta_sdk_p50"]
    added_p99 = over["delta_daemon_p99"] - over["delta_sdk_p99"]
    print(f"overhead, {rounds} streams of 100 deltas each way (median / p99, ms):")
    print(
        f"  time to first token  daemon {over['ttft_daemon']:.2f}  SDK {over['ttft_sdk']:.2f}"
        f"  ratio {over['ttft_daemon'] / over['ttft_sdk']:.2f}  added {ttft_added:.2f}"
    )
    for name in ("p50", "p99"):
        daemon_ms, sdk_ms = over[f"delta_daemon_{name}"], over[f"delta_sdk_{name}"]
        print(
            f"  delta delivery {name}   daemon {daemon_ms:.3f}  SDK {sdk_ms:.3f}  "
            f"added {daemon_ms - sdk_ms:.3f}" + ("  (target ≤ 2 ms)" if name == "p99" else "")
        )
    for delay, busy in zip(LOAD_DELAYS_MS, loads, strict=True):
        print(
            f"load, {sessions} concurrent streaming turns of {LOAD_DELTAS} deltas, "
            f"one every {delay:.0f} ms ({sessions * 1000 / delay:.0f} deltas/s asked):"
        )
        print(
            f"  loop lag (ping) p50/p99/max {busy['lag_p50']:.2f}/{busy['lag_p99']:.2f}/"
            f"{busy['lag_max']:.2f} ms over {busy['pings']:.0f} pings; idle p50/p99 "
            f"{busy['lag_idle_p50']:.2f}/{busy['lag_idle_p99']:.2f} ms; ratio p99 "
            f"{busy['lag_p99'] / busy['lag_idle_p99']:.1f}  (target ≤ 50 ms)"
        )
        print(
            f"  throughput {busy['throughput']:.0f} deltas/s ({busy['turns_per_s']:.1f} turns/s);"
            f" SDK alone {busy['sdk_throughput']:.0f} deltas/s; ratio "
            f"{busy['throughput'] / busy['sdk_throughput']:.2f}"
        )
        print(
            f"  delta delivery p99: daemon {busy['load_delta_p99']:.2f} ms, SDK alone "
            f"{busy['load_sdk_delta_p99']:.2f} ms; daemon CPU {busy['cpu_us_per_delta']:.0f} "
            f"µs/delta (one core: {1e6 / busy['cpu_us_per_delta']:.0f} deltas/s)"
        )
    brisk, calm = loads
    print(
        f"RESULT ttft_added_ms={ttft_added:.2f} "
        f"ttft_ratio={over['ttft_daemon'] / over['ttft_sdk']:.2f} "
        f"delta_added_p50_ms={added_p50:.3f} delta_added_p99_ms={added_p99:.3f} "
        f"load_sessions={sessions} loop_lag_p99_ms={brisk['lag_p99']:.2f} "
        f"loop_lag_calm_p99_ms={calm['lag_p99']:.2f} "
        f"loop_lag_idle_p99_ms={brisk['lag_idle_p99']:.2f} "
        f"throughput_deltas_s={brisk['throughput']:.0f} "
        f"throughput_ratio={brisk['throughput'] / brisk['sdk_throughput']:.2f} "
        f"cpu_us_per_delta={brisk['cpu_us_per_delta']:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and sessions")
    parser.add_argument("--serve", nargs=2, metavar=("DELTAS", "DELAY_MS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(int(args.serve[0]), float(args.serve[1])))
    else:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
