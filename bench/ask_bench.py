"""Figures of issue 11, each beside a baseline measured in the same run.

- media save: a conversation holding 10 × 5 MiB images, saved again after its first save,
  beside the same conversation without the images (goal ≤ 1.2×: media is written once, not
  per save), plain and encrypted;
- ask: `chat/ask` with `echo` through the daemon over stdio, beside `chat/send` in the same
  daemon (goal ≤ 1.5× p50), the two interleaved so drift hits both alike.

Usage: python bench/ask_bench.py [--quick]
Ends with one line: ``RESULT media_save_ratio=… media_save_ratio_encrypted=… ask_send_p50_ratio=…``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chatd.core.store.base import Snapshot
from chatd.core.store.filestore import FileStore
from chatd_client import Client

IMAGES = 10
IMAGE_BYTES = 5 * 1024 * 1024
TEXT_TURNS = 100

SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "tags": {"type": "array", "items": {"enum": ["a", "b"]}},
        "score": {"type": "integer", "minimum": 0},
    },
    "required": ["title", "tags", "score"],
}


def conversation(with_images: bool) -> list[Any]:
    """Claude-format turns; every tenth user turn carries an image when ``with_images``."""
    messages: list[Any] = []
    for turn in range(TEXT_TURNS):
        blocks: list[dict[str, Any]] = [{"type": "text", "text": f"question {turn} " * 40}]
        if with_images and turn % (TEXT_TURNS // IMAGES) == 0:
            data = base64.b64encode(os.urandom(IMAGE_BYTES)).decode()
            source = {"type": "base64", "media_type": "image/png", "data": data}
            blocks.append({"type": "image", "source": source})
        messages.append({"role": "user", "content": blocks})
        messages.append({"role": "assistant", "content": [{"type": "text", "text": "ok " * 80}]})
    return messages


def save_times(store: FileStore, messages: list[Any], rounds: int) -> list[float]:
    now = datetime.now(UTC)
    snapshot = Snapshot(
        id=str(uuid.uuid4()),
        provider="claude",
        model="m",
        messages=messages,
        created_at=now,
        updated_at=now,
    )
    snapshot = store.save(snapshot)  # the first save writes the blobs
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        snapshot = store.save(replace(snapshot, messages=messages))
        times.append(time.perf_counter() - start)
    return times


def media_ratio(root: Path, key: bytes | None, rounds: int) -> tuple[float, float, float]:
    with_images, without = conversation(True), conversation(False)
    store = FileStore(root / ("encrypted" if key else "plain"), key)
    media, plain = [], []
    for _ in range(rounds):  # alternate, so the disk's moods hit both
        media += save_times(store, with_images, 3)
        plain += save_times(store, without, 3)
    media_ms = statistics.median(media) * 1000
    plain_ms = statistics.median(plain) * 1000
    return media_ms, plain_ms, media_ms / plain_ms


async def ask_ratio(root: Path, rounds: int) -> tuple[float, float, float]:
    env = {
        **os.environ,
        "CHATD_CONFIG": str(root / "none.toml"),
        "CHATD_STORE_DIR": str(root / "store"),
        "CHATD_SOCKET": str(root / "chatd.sock"),
    }
    (root / "none.toml").write_text("")
    client = await Client.spawn_stdio(env=env)
    try:
        await client.initialize("bench")
        send_session = (await client.request("chat/new", {"provider": "echo"}))["sessionId"]
        ask_session = (await client.request("chat/new", {"provider": "echo"}))["sessionId"]
        sends, asks = [], []
        for index in range(rounds + 5):
            start = time.perf_counter()
            await client.request("chat/send", {"sessionId": send_session, "message": "hello"})
            middle = time.perf_counter()
            params = {"sessionId": ask_session, "message": "hello", "schema": SCHEMA}
            await client.request("chat/ask", params)
            end = time.perf_counter()
            if index >= 5:  # warm-up: the first ask imports jsonschema
                sends.append(middle - start)
                asks.append(end - middle)
    finally:
        await client.close()
    send_ms = statistics.median(sends) * 1000
    ask_ms = statistics.median(asks) * 1000
    return ask_ms, send_ms, ask_ms / send_ms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    rounds = 2 if args.quick else 5
    with tempfile.TemporaryDirectory(prefix="chatd-ask-bench-") as directory:
        root = Path(directory)
        plain = media_ratio(root, None, rounds)
        encrypted = media_ratio(root, bytes(range(32)), rounds)
        print(
            f"media save, plain: {plain[0]:.2f} ms with {IMAGES} x 5 MiB images, "
            f"{plain[1]:.2f} ms without: {plain[2]:.2f}x (goal <= 1.2x)"
        )
        print(
            f"media save, encrypted: {encrypted[0]:.2f} ms with, {encrypted[1]:.2f} ms "
            f"without: {encrypted[2]:.2f}x (goal <= 1.2x)"
        )
        ask = asyncio.run(ask_ratio(root, 40 if args.quick else 200))
        print(
            f"echo p50: chat/ask {ask[0]:.2f} ms, chat/send {ask[1]:.2f} ms: "
            f"{ask[2]:.2f}x (goal <= 1.5x)"
        )
    print(
        f"RESULT media_save_ratio={plain[2]:.2f} media_save_ratio_encrypted={encrypted[2]:.2f} "
        f"ask_send_p50_ratio={ask[2]:.2f}"
    )


if __name__ == "__main__":
    main()
