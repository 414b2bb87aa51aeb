"""Daemon figures, each beside a baseline measured in the same run (machines here are noisy).

- start-up: spawn -> `initialize` answered, beside `python -c pass` and
  `python -c "import pygls.server"` (the protocol library the daemon must load);
- round trip: `chat/send` with `echo` over the socket, sequential and 8 concurrent clients,
  beside a minimal asyncio Content-Length JSON-RPC echo server and the store's atomic save
  of the same snapshots;
- memory: RSS with 1,000 live idle sessions, over the empty daemon;
- shared forwarder: spawn `chatd serve --stdio --shared` -> `initialize` answered with a warm
  socket daemon, beside `python -c pass`; `chat/send` through it beside the direct socket,
  interleaved in the same run.

Usage: python bench/daemon_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from chatd.core.store.base import Snapshot
from chatd.core.store.filestore import FileStore
from chatd_client import Client, daemon_command, encode_frame
from chatd_client.framing import Frame, FrameParser

MINIMAL_SERVER = r"""
import asyncio, json, sys
async def serve(reader, writer):
    while True:
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        if not line:
            return
        request = json.loads(await reader.readexactly(length))
        for seq in range(int(sys.argv[2])):
            update = {"sessionId": "s", "seq": seq, "kind": "text", "text": "abc"}
            body = json.dumps({"jsonrpc": "2.0", "method": "chat/update", "params": update})
            writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body.encode()))
        answer = {"jsonrpc": "2.0", "id": request["id"], "result": {"text": "ok"}}
        body = json.dumps(answer).encode()
        writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
async def main():
    server = await asyncio.start_unix_server(serve, path=sys.argv[1])
    print("ready", flush=True)
    await server.serve_forever()
asyncio.run(main())
"""

BYTE_PIPE = r"""
import os, socket, sys, threading
daemon = socket.socket(socket.AF_UNIX)
daemon.connect(sys.argv[1])
def editor_to_daemon():
    while chunk := os.read(0, 65536):
        daemon.sendall(chunk)
    os._exit(0)
threading.Thread(target=editor_to_daemon, daemon=True).start()
while chunk := daemon.recv(65536):
    os.write(1, chunk)
"""
"""The least a forwarding Python process can do: copy bytes, read nothing (the floor)."""

ROOT = Path(__file__).resolve().parents[1]

UPDATES_PER_ECHO_TURN = 6
"""What an echo turn streams before its answer: running, four text deltas, idle."""

TURNS_PER_CONVERSATION = 50
"""Conversations restart every 50 turns: a realistic length, and it keeps the echo provider's
own work (it counts the user turns in the history) from growing into the figures."""


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def timed_run(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def daemon_start_up(env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        client = await Client.spawn_stdio(env=env)
        await client.initialize()
        times.append(time.perf_counter() - start)
        await client.close()
    return statistics.median(times)


async def sequential(socket: Path, turns: int, **new: object) -> list[float]:
    """``turns`` sends, in conversations of ``TURNS_PER_CONVERSATION``."""
    async with await Client.connect_unix(socket) as client:
        await client.initialize()
        return await conversations(client, turns, **new)


async def conversations(client: Client, turns: int, **new: object) -> list[float]:
    latencies = []
    for index in range(turns):
        if index % TURNS_PER_CONVERSATION == 0:
            session_id = (await client.chat_new(**new))["sessionId"]  # type: ignore[arg-type]
        start = time.perf_counter()
        await client.chat_send(f"turn {index}", session_id=session_id)
        latencies.append(time.perf_counter() - start)
    return latencies


FORWARDER = daemon_command("serve", "--stdio", "--shared")


def forwarder_start_up(env: dict[str, str], runs: int) -> tuple[float, float]:
    """Spawn the forwarder until ``initialize`` is answered (the socket daemon is warm), and
    ``python -c pass`` until it exits, alternately and the same way (a blocking ``Popen``)."""
    initialize = encode_frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}})
    forwarded, bare = [], []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - start)
        start = time.perf_counter()
        editor = subprocess.Popen(FORWARDER, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert editor.stdin is not None and editor.stdout is not None
        editor.stdin.write(initialize)
        editor.stdin.flush()
        parser, answer = FrameParser(2**24), None
        while answer is None:
            parser.feed(editor.stdout.read1(65536))
            answer = parser.next_event()
        forwarded.append(time.perf_counter() - start)
        assert isinstance(answer, Frame) and b'"serverInfo"' in answer.body, answer
        editor.stdin.close()
        editor.wait()
    return statistics.median(forwarded), statistics.median(bare)


async def forwarded_and_direct(
    socket: Path, env: dict[str, str], turns: int
) -> tuple[list[float], list[float], list[float]]:
    """Ephemeral turns through the forwarder, through a bare byte pipe and straight to the
    socket, a conversation each in turn, so all three see the same machine."""
    forwarded: list[float] = []
    piped: list[float] = []
    direct: list[float] = []
    pipe = [sys.executable, "-c", BYTE_PIPE, str(socket)]
    async with (
        await Client.spawn_stdio(command=FORWARDER, env=env) as through,
        await Client.spawn_stdio(command=pipe, env=env) as bare,
        await Client.connect_unix(socket) as straight,
    ):
        for client in (through, bare, straight):
            await client.initialize()
        for _ in range(max(1, turns // TURNS_PER_CONVERSATION)):
            for client, latencies in ((straight, direct), (through, forwarded), (bare, piped)):
                latencies += await conversations(client, TURNS_PER_CONVERSATION, ephemeral=True)
    return forwarded, piped, direct


async def concurrent(socket: Path, clients: int, turns: int) -> tuple[list[float], float]:
    async def one() -> list[float]:
        return await sequential(socket, turns, ephemeral=True)

    start = time.perf_counter()
    results = await asyncio.gather(*(one() for _ in range(clients)))
    elapsed = time.perf_counter() - start
    return [latency for result in results for latency in result], clients * turns / elapsed


async def minimal_echo_floor(directory: Path, turns: int, updates: int = 0) -> list[float]:
    """Round trips to a bare asyncio JSON-RPC server, sending ``updates`` notifications first."""
    socket = directory / f"floor-{updates}.sock"
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-c", MINIMAL_SERVER, str(socket), str(updates), stdout=subprocess.PIPE
    )
    assert server.stdout is not None
    await server.stdout.readline()
    try:
        reader, writer = await asyncio.open_unix_connection(str(socket))
        client = Client(reader, writer)
        latencies = []
        for index in range(turns):
            start = time.perf_counter()
            await client.request("chat/send", {"message": f"turn {index}"})
            latencies.append(time.perf_counter() - start)
        await client.close()
        return latencies
    finally:
        server.kill()
        await server.wait()


def save_floor(directory: Path, turns: int) -> list[float]:
    """The store's atomic save of the snapshots autosave writes: same growth, same sizes."""
    store = FileStore(directory / "floor-store")
    now = datetime.now(UTC)
    snapshot = Snapshot(
        id="6f1c2e9a-0000-4000-8000-000000000001",
        provider="echo",
        model="echo-1",
        messages=[],
        created_at=now,
        updated_at=now,
    )
    latencies = []
    messages: list[dict[str, str]] = []
    for index in range(turns):
        if index % TURNS_PER_CONVERSATION == 0:
            messages = []
            snapshot = replace(snapshot, id=str(uuid.uuid4()), revision=0)
        messages += [
            {"role": "user", "content": f"turn {index}"},
            {"role": "assistant", "content": f"[{len(messages) // 2 + 1}] turn {index}"},
        ]
        snapshot = replace(snapshot, messages=list(messages))
        start = time.perf_counter()
        snapshot = store.save(snapshot)
        latencies.append(time.perf_counter() - start)
    return latencies


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def memory_per_session(socket: Path, pid: int, sessions: int) -> tuple[float, float]:
    async with await Client.connect_unix(socket) as client:
        await client.initialize()
        warm = (await client.chat_new())["sessionId"]
        await client.chat_send("warm up", session_id=warm)
        await client.chat_close(warm)
        empty = rss_kib(pid)
        for index in range(sessions):
            session_id = (await client.chat_new())["sessionId"]
            await client.chat_send(f"hello {index}", session_id=session_id)
        assert (await client.daemon_status())["liveSessions"] == sessions
        full = rss_kib(pid)
    return empty / 1024, (full - empty) / sessions


def start_socket_daemon(env: dict[str, str], socket: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(daemon_command("serve", "--socket"), env=env)
    while not socket.exists():
        time.sleep(0.02)
    time.sleep(0.2)
    return process


def compile_bytecode() -> None:
    """Compile chatd as ``pip install`` of a wheel does: an editable install under
    PYTHONDONTWRITEBYTECODE (set on this machine) compiles every module at every start,
    which the interpreter floor never pays for the standard library."""
    for package in (ROOT / "server" / "chatd", ROOT / "clients" / "python" / "chatd_client"):
        compileall.compile_dir(package, quiet=1)


async def main(quick: bool) -> None:
    turns, runs, sessions = (100, 3, 200) if quick else (1000, 7, 1000)
    compile_bytecode()
    root = Path(tempfile.mkdtemp(prefix="chatd-bench-", dir="/tmp"))
    (root / "config.toml").write_text("")
    env = {
        **os.environ,
        "CHATD_CONFIG": str(root / "config.toml"),
        "CHATD_STORE_DIR": str(root / "store"),
        "CHATD_SOCKET": str(root / "chatd.sock"),
        "CHATD_ECHO_DELAY_MS": "0",
    }
    try:
        python_floor = timed_run([sys.executable, "-c", "pass"], runs)
        pygls_floor = timed_run([sys.executable, "-c", "import pygls.server"], runs)
        start_up = await daemon_start_up(env, runs)

        daemon = start_socket_daemon(env, root / "chatd.sock")
        try:
            ephemeral = await sequential(root / "chatd.sock", turns, ephemeral=True)
            autosaved = await sequential(root / "chatd.sock", turns)
            together, throughput = await concurrent(root / "chatd.sock", 8, turns // 2)
            forwarder_up, shared_python_floor = forwarder_start_up(env, runs * 3)
            forwarded, piped, direct = await forwarded_and_direct(root / "chatd.sock", env, turns)
        finally:
            daemon.terminate()
            daemon.wait()
        echo_floor = await minimal_echo_floor(root, turns)
        streaming_floor = await minimal_echo_floor(root, turns, UPDATES_PER_ECHO_TURN)
        store_floor = save_floor(root, turns)

        daemon = start_socket_daemon(env, root / "chatd.sock")
        try:
            empty_mib, per_session_kib = await memory_per_session(
                root / "chatd.sock", daemon.pid, sessions
            )
        finally:
            daemon.terminate()
            daemon.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)

    ms = 1000.0
    floor_p50 = statistics.median(echo_floor) * ms
    streaming_p50 = statistics.median(streaming_floor) * ms
    save_p50 = statistics.median(store_floor) * ms
    ephemeral_p50 = statistics.median(ephemeral) * ms
    autosave_p50 = statistics.median(autosaved) * ms
    autosave_ratio = autosave_p50 / (floor_p50 + save_p50)
    print(f"start-up: python -c pass {python_floor:.3f}s, import pygls.server {pygls_floor:.3f}s,")
    print(
        f"          chatd spawn->initialize {start_up:.3f}s ({start_up / pygls_floor:.2f}x pygls)"
    )
    print(f"round trip over the socket ({turns} turns):")
    print(f"  minimal JSON-RPC echo server  p50 {floor_p50:.3f} ms")
    print(f"  ... sending 6 updates first   p50 {streaming_p50:.3f} ms")
    print(f"  store atomic save (same data) p50 {save_p50:.3f} ms")
    ephemeral_p99 = percentile(ephemeral, 0.99) * ms
    print(
        f"  chat/send ephemeral           p50 {ephemeral_p50:.3f} ms  "
        f"p99 {ephemeral_p99:.3f} ms  ({ephemeral_p50 / floor_p50:.1f}x echo floor, "
        f"{ephemeral_p50 / streaming_p50:.1f}x streaming floor)"
    )
    print(
        f"  chat/send with autosave       p50 {autosave_p50:.3f} ms  "
        f"p99 {percentile(autosaved, 0.99) * ms:.3f} ms  ({autosave_ratio:.2f}x echo+save floors)"
    )
    print(
        f"  8 concurrent clients          p50 {statistics.median(together) * ms:.3f} ms  "
        f"p99 {percentile(together, 0.99) * ms:.3f} ms  {throughput:.0f} turns/s"
    )
    print(f"memory: empty daemon {empty_mib:.1f} MiB, {per_session_kib:.1f} KiB per idle session")
    up_ratio = forwarder_up / shared_python_floor
    forwarded_p50 = statistics.median(forwarded) * ms
    direct_p50 = statistics.median(direct) * ms
    piped_p50 = statistics.median(piped) * ms
    print(
        f"shared forwarder: spawn->initialize {forwarder_up * ms:.1f} ms beside python -c pass "
        f"{shared_python_floor * ms:.1f} ms ({up_ratio:.2f}x)"
    )
    print(
        f"  chat/send through it p50 {forwarded_p50:.3f} ms, direct socket p50 "
        f"{direct_p50:.3f} ms ({forwarded_p50 / direct_p50:.2f}x); through a bare byte pipe "
        f"p50 {piped_p50:.3f} ms ({piped_p50 / direct_p50:.2f}x)"
    )
    print(
        "RESULT "
        f"startup_s={start_up:.3f} pygls_import_s={pygls_floor:.3f} python_s={python_floor:.3f} "
        f"startup_vs_pygls={start_up / pygls_floor:.2f} "
        f"echo_floor_p50_ms={floor_p50:.3f} streaming_floor_p50_ms={streaming_p50:.3f} "
        f"save_floor_p50_ms={save_p50:.3f} "
        f"ephemeral_p50_ms={ephemeral_p50:.3f} ephemeral_p99_ms={ephemeral_p99:.3f} "
        f"autosave_p50_ms={autosave_p50:.3f} autosave_vs_floors={autosave_ratio:.2f} "
        f"concurrent8_p50_ms={statistics.median(together) * ms:.3f} "
        f"concurrent8_p99_ms={percentile(together, 0.99) * ms:.3f} turns_per_s={throughput:.0f} "
        f"empty_rss_mib={empty_mib:.1f} per_session_kib={per_session_kib:.1f} "
        f"forwarder_startup_ms={forwarder_up * ms:.1f} "
        f"forwarder_python_ms={shared_python_floor * ms:.1f} "
        f"forwarder_startup_vs_python={up_ratio:.2f} "
        f"forwarded_p50_ms={forwarded_p50:.3f} direct_p50_ms={direct_p50:.3f} "
        f"forwarded_vs_direct={forwarded_p50 / direct_p50:.2f} piped_p50_ms={piped_p50:.3f} "
        f"piped_vs_direct={piped_p50 / direct_p50:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer turns and sessions")
    asyncio.run(main(parser.parse_args().quick))
