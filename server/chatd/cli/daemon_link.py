"""The CLI's connection to the socket daemon, which must run with the settings the CLI has.

A daemon keeps the settings it started with. When the CLI's own settings (its config file, its
environment) differ from the running daemon's, the CLI restarts a daemon it started itself on
demand if that loses nothing (no turn runs, no other client is connected: every conversation is
saved already), and says so in one line; otherwise it names what differs and how to apply it.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from chatd.config import Settings
from chatd.core.store import open_store
from chatd.errors import ChatdError
from chatd.fingerprint import differences

if TYPE_CHECKING:
    from chatd_client import Client

CLIENT_NAME = "chatd-cli"

STOP_TIMEOUT_S = 30.0
"""How long a stopped daemon may take to save its sessions and exit."""


@dataclass(frozen=True)
class Link:
    """A connection to the daemon, initialized."""

    client: Client
    default_provider: str


async def connect(settings: Settings) -> Link:
    """A connection to a daemon with current settings, started when none runs."""
    return await connect_current(settings) or await start_daemon(settings)


async def connect_current(settings: Settings) -> Link | None:
    """A connection to the running daemon, restarted (or warned about) when its settings are
    not these; None when no daemon runs."""
    link = await connect_running(settings)
    return None if link is None else await _with_current_settings(link, settings)


async def connect_running(settings: Settings) -> Link | None:
    """An initialized connection to the running daemon whatever its settings, or None."""
    from chatd_client import Client

    try:
        client = await Client.connect_unix(settings.daemon.socket_path)
    except (FileNotFoundError, ConnectionRefusedError):
        return None
    return await _initialized(client)


async def start_daemon(settings: Settings) -> Link:
    """Start a daemon on demand, after checking that it could write to the store: a refusal is
    explained here, rather than by a daemon that never listens."""
    from chatd_client import Client

    open_store(settings.store).check_key()
    client = await Client.connect_unix(settings.daemon.socket_path, start=True)
    return await _initialized(client)


async def _initialized(client: Client) -> Link:
    info = await client.initialize(CLIENT_NAME)
    return Link(client, str(info["capabilities"]["defaultProvider"]))


async def restart_daemon(settings: Settings) -> Link:
    """Stop the running daemon (if any) and start one with these settings.

    The store is checked first, so a daemon is never stopped for one that would refuse it.
    """
    open_store(settings.store).check_key()
    running = await connect_running(settings)
    if running is not None:
        await stop_daemon(running.client, await running.client.daemon_status())
    return await start_daemon(settings)


def stale_settings(status: dict[str, Any], settings: Settings) -> list[str]:
    """The names of the inputs whose values differ between the daemon and this process."""
    return differences(status.get("settingsFingerprint", {}), settings.fingerprint)


async def stop_daemon(client: Client, status: dict[str, Any]) -> None:
    """Stop the daemon ``client`` talks to (it saves every session) and wait until it exited."""
    await client.daemon_stop()
    await client.close()
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while process_alive(int(status["pid"])):
        if time.monotonic() > deadline:
            raise click.ClickException(f"chatd (pid {status['pid']}) did not stop")
        await asyncio.sleep(0.02)


async def _with_current_settings(link: Link, settings: Settings) -> Link:
    status = await link.client.daemon_status()
    changed = stale_settings(status, settings)
    if not changed:
        return link
    names = ", ".join(changed)
    obstacle = _restart_obstacle(status) or _store_refusal(settings)
    if obstacle is None:
        await stop_daemon(link.client, status)
        click.echo(f"chatd: restarted the daemon to apply changed settings ({names})", err=True)
        return await start_daemon(settings)
    click.echo(
        f"warning: the running daemon started with other settings ({names} changed since) and "
        f"was not restarted: {obstacle}. Apply them with `chatd restart` (or `chatd stop`)",
        err=True,
    )
    return link


def _restart_obstacle(status: dict[str, Any]) -> str | None:
    """Why the daemon cannot be restarted without asking, or None."""
    if not status.get("startedOnDemand"):
        return "it was not started by chatd on demand"
    if status.get("runningTurns"):
        return "it is running a turn"
    if status.get("connections", 0) > 1:
        return "other clients are connected to it"
    return None


def _store_refusal(settings: Settings) -> str | None:
    """Why a daemon with these settings would refuse the store (its key), or None."""
    try:
        open_store(settings.store).check_key()
    except ChatdError as exc:
        return f"with the settings here, {exc.message}"
    return None


def process_alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting for its reaper does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if not Path("/proc/self").is_dir():
        return True  # no /proc (macOS): kill's answer stands
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"
