"""kill -9 of the daemon in the middle of turns: no completed turn is lost, no file is torn.

A turn counts as completed when its ``chat/send`` answer reached the client: the answer
follows the autosave, so after any kill and restart the conversation holds every completed
turn, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import signal

import pytest

from chatd.core.store import FileStore
from chatd_client import Client, ConnectionLost, RpcError
from tests.integration.conftest import DaemonEnv, stop

pytestmark = pytest.mark.anyio

KILLS = 6
"""About 1.5 s each (a daemon start); ``--fuzz-long`` runs 60."""
SESSIONS = 4
NUMBERS = itertools.count()
RECENT = 60
"""Completed turns checked per session after each restart: 120 items, within one page."""


async def turns(
    client: Client, session_id: str, done: list[str], unsaved: list[dict[str, str]]
) -> None:
    """Send numbered messages until the daemon dies; record those that were answered, and
    the answers that say their save failed (a kill elsewhere must never cause one)."""
    with contextlib.suppress(RpcError, ConnectionLost, ConnectionError, TimeoutError):
        while True:
            message = f"turn {next(NUMBERS)}"
            # a request written after the client saw the connection end is never answered
            answer = await asyncio.wait_for(client.chat_send(message, session_id=session_id), 2)
            done.append(message)
            if "saveError" in answer:
                unsaved.append(answer["saveError"])


async def test_kill_9_mid_turn_loses_no_completed_turn(
    daemon_env: DaemonEnv, fuzz_long: bool
) -> None:
    rng = random.Random(99)
    completed: dict[str, list[str]] = {}
    unsaved: list[dict[str, str]] = []
    for _ in range(KILLS * (10 if fuzz_long else 1)):
        process = daemon_env.start_socket_daemon(CHATD_ECHO_DELAY_MS="2")
        try:
            client = await Client.connect_unix(daemon_env.socket)
            await client.initialize("pytest")
            if not completed:
                for _ in range(SESSIONS):
                    completed[(await client.chat_send("start"))["sessionId"]] = []
            for session_id, done in completed.items():
                history = await client.chat_history(session_id, limit=200)
                users = [item["text"] for item in history["items"] if item["role"] == "user"]
                recent = ["start", *done][-RECENT:]  # the newest history page holds these
                in_order = iter(users)
                missing = [message for message in recent if message not in in_order]
                assert not missing, (session_id, missing, users[-5:], unsaved)
            workers = [
                asyncio.create_task(turns(client, sid, done, unsaved))
                for sid, done in completed.items()
            ]
            await asyncio.sleep(rng.uniform(0.05, 0.4))
            process.send_signal(signal.SIGKILL)
            process.wait()
            await asyncio.gather(*workers)
            await client.close()
            assert not [w for w in workers if w.cancelled()]
        finally:
            stop(process)
        page = FileStore(daemon_env.store_dir, None).list(limit=200)
        assert page.problems == []
        assert {item.id for item in page.items} == set(completed)
    assert all(completed.values()), "every session completed turns between kills"
    assert unsaved == []
