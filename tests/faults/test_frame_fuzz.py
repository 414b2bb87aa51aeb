"""Fuzzed frames against a real ``chatd serve --stdio`` and a real socket daemon.

Each example is a batch of hostile and odd frames written in random pieces, then a sentinel
request. The daemon must answer every request exactly once and nothing else, leak no
traceback or path, stay up, and run a normal turn at the end.
"""

from __future__ import annotations

import itertools
import json
import os
import select
import shutil
import socket
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatd_client import daemon_command
from chatd_client.framing import Frame, FrameParser, encode_frame
from tests.faults.frames import FRAMES, MAX_FRAME, NO_REPLY, NULL_ID, Fuzzed
from tests.integration.conftest import DaemonEnv, stop

CI_FRAMES = 2_500
"""Per transport; about 20 s each on a 2-core machine."""
LONG_FRAMES = 50_000
"""Per transport, with ``--fuzz-long``: 100,000 in all."""
BATCH = 17
"""Frames per example, aimed at; Hypothesis favours short lists (measured: 13.7 on average)."""
LEAKS = ("Traceback", 'File "', "site-packages", ".py", os.path.expanduser("~"))

SENTINELS = itertools.count()
counted = {"frames": 0, "requests": 0, "replies": 0}


class SyncPeer:
    """Blocking bytes in, frames out, over a pipe pair or a socket."""

    def __init__(self, write: Callable[[bytes], None], fd: int, alive: Callable[[], bool]):
        self.write = write
        self.fd = fd
        self.alive = alive
        self.parser = FrameParser(2**28)

    def messages(self) -> Iterator[Any]:
        while True:
            event = self.parser.next_event()
            if event is None:
                ready, _, _ = select.select([self.fd], [], [], 30)
                assert ready, "the daemon stopped answering"
                chunk = os.read(self.fd, 1 << 16)
                assert chunk, "the daemon closed the connection"
                self.parser.feed(chunk)
                continue
            assert isinstance(event, Frame), event
            yield json.loads(event.body)

    def call(self, request_id: Any, method: str, params: Any) -> Any:
        self.write(
            encode_frame({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        )
        for message in self.messages():
            if message.get("id") == request_id and "method" not in message:
                return message


def fuzz_env(root: Path) -> tuple[DaemonEnv, str]:
    socket_dir = tempfile.mkdtemp(prefix="chatd-", dir="/tmp")
    env = DaemonEnv(root, Path(socket_dir) / "run")
    env.config.write_text(f"[daemon]\nmax_frame_bytes = {MAX_FRAME}\n")
    return env, socket_dir


@pytest.fixture(scope="module")
def stdio_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncPeer]:
    env, socket_dir = fuzz_env(tmp_path_factory.mktemp("stdio"))
    stderr = (env.root / "stderr").open("wb")
    process = subprocess.Popen(
        daemon_command("serve", "--stdio"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env.env(),
    )
    assert process.stdin is not None and process.stdout is not None
    stdin = process.stdin

    def write(data: bytes) -> None:
        stdin.write(data)
        stdin.flush()

    peer = SyncPeer(write, process.stdout.fileno(), lambda: process.poll() is None)
    assert "result" in peer.call("init", "initialize", {})
    try:
        yield peer
        bye = peer.call("bye", "shutdown", None)
        assert "result" in bye and bye["result"] is None, bye
        write(encode_frame({"jsonrpc": "2.0", "method": "exit"}))
        assert process.wait(timeout=30) == 0
        assert_no_leak((env.root / "stderr").read_text(errors="replace"), env)
    finally:
        stop(process)
        stdin.close()
        process.stdout.close()
        stderr.close()
        shutil.rmtree(socket_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def socket_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncPeer]:
    env, socket_dir = fuzz_env(tmp_path_factory.mktemp("socket"))
    process = env.start_socket_daemon()
    connection = socket.socket(socket.AF_UNIX)
    connection.connect(str(env.socket))
    peer = SyncPeer(connection.sendall, connection.fileno(), lambda: process.poll() is None)
    assert "result" in peer.call("init", "initialize", {})
    try:
        yield peer
        assert stop(process) == 0
    finally:
        connection.close()
        stop(process)
        shutil.rmtree(socket_dir, ignore_errors=True)


def assert_no_leak(text: str, env: DaemonEnv | None = None) -> None:
    for leak in LEAKS + ((str(env.root),) if env else ()):
        assert leak not in text, (leak, text[:500])


def check_batch(peer: SyncPeer, frames: list[Fuzzed], cuts: list[int]) -> None:
    expected = Counter(f.expect for f in frames if f.expect != NO_REPLY)
    stream = b"".join(f.data for f in frames)
    points = sorted({min(cut, len(stream)) for cut in cuts})
    for start, end in zip([0, *points], [*points, len(stream)], strict=True):
        peer.write(stream[start:end])
    sentinel = f"sentinel-{next(SENTINELS)}"
    peer.write(encode_frame({"jsonrpc": "2.0", "id": sentinel, "method": "store/list"}))
    answered: Counter[Any] = Counter()
    sentinel_seen = False
    for message in peer.messages():
        if "method" in message:
            continue  # chat/update of a fuzzed turn
        if message["id"] == sentinel:
            sentinel_seen = True
        else:
            answered[NULL_ID if message["id"] is None else message["id"]] += 1
            assert_no_leak(json.dumps(message, ensure_ascii=False))
            if "error" in message:
                assert isinstance(message["error"]["data"]["reason"], str), message
        if sentinel_seen and all(answered[key] >= n for key, n in expected.items()):
            break  # turns may answer after the sentinel; a late extra reply fails the next batch
    assert answered == expected
    assert peer.alive()
    counted["frames"] += len(frames)
    counted["requests"] += sum(expected.values())
    counted["replies"] += sum(answered.values())


def fuzz(peer: SyncPeer, total: int) -> None:
    """At least ``total`` frames, in rounds: how many an example holds is Hypothesis's choice."""
    while (remaining := total - counted["frames"]) > 0:
        fuzz_round(peer, max(1, remaining // BATCH))
    turn = peer.call("turn", "chat/send", {"message": "still here"})
    assert turn.get("result", {}).get("text") == "[1] still here", turn


def fuzz_round(peer: SyncPeer, examples: int) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        st.lists(FRAMES, min_size=BATCH // 2, max_size=2 * BATCH),
        st.lists(st.integers(min_value=0, max_value=20_000), max_size=6),
    )
    def run(frames: list[Fuzzed], cuts: list[int]) -> None:
        check_batch(peer, frames, cuts)

    run()


@pytest.mark.parametrize("transport", ["stdio", "socket"])
def test_fuzzed_frames_get_exactly_their_replies(
    transport: str, request: pytest.FixtureRequest, fuzz_long: bool
) -> None:
    peer: SyncPeer = request.getfixturevalue(f"{transport}_peer")
    counted.update(dict.fromkeys(counted, 0))
    fuzz(peer, LONG_FRAMES if fuzz_long else CI_FRAMES)
    print(f"RESULT transport={transport} " + " ".join(f"{k}={v}" for k, v in counted.items()))  # noqa: T201
