"""The ``chatd`` command: run the daemon, talk to it, manage the store.

Thin by design: daemon commands go through ``chatd_client``, store commands to the store.
Every failure is one line on stderr and a non-zero status, never a traceback.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import click

from chatd.cli.ask import ask
from chatd.cli.common import fail, settings_from_context
from chatd.cli.daemon_link import (
    Link,
    connect_running,
    restart_daemon,
    stale_settings,
    stop_daemon,
)
from chatd.cli.send import send
from chatd.config import Settings, export_config_path
from chatd.errors import ChatdError


class _LazyGroup(click.Group):
    """Loads the store commands only when they run (or ``--help`` lists them): ``serve`` and
    ``acp`` must not load the store's CLI, key handling and re-encryption."""

    LAZY = {"store": "store", "key": "key"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.LAZY])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.LAZY:
            from chatd.cli import store

            command: click.Command = getattr(store, self.LAZY[cmd_name])
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="CHATD_CONFIG",
    help="Configuration file (default: the platform's user config dir, chatd/config.toml).",
)
@click.version_option(package_name="chatd")
def cli(config: Path | None) -> None:
    """Persistent, multi-provider LLM conversations for editors and scripts."""
    if config is not None:
        export_config_path(config)


cli.add_command(send)
cli.add_command(ask)


@cli.command()
@click.option("--stdio", is_flag=True, help="Serve one client over stdin/stdout (editors).")
@click.option(
    "--socket",
    "socket_path",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[PATH]",
    help="Serve scripts on a unix socket (default path: $XDG_RUNTIME_DIR/chatd/chatd.sock).",
)
@click.option("--on-demand", is_flag=True, hidden=True, help="Started by a client, not a user.")
@click.option("--acp", "acp_stdio", is_flag=True, help="Same as `chatd acp`.")
@click.option(
    "--shared",
    is_flag=True,
    help="With --stdio: forward to the per-user socket daemon, starting it if none runs.",
)
def serve(
    stdio: bool, socket_path: str | None, on_demand: bool, acp_stdio: bool, shared: bool
) -> None:
    """Run the daemon (or, with --stdio --shared, attach to the shared one)."""
    if acp_stdio:
        if stdio or socket_path is not None or shared:
            raise click.UsageError("--acp serves stdio alone: drop --stdio and --socket")
        _serve_acp()
    if shared:
        if not stdio or socket_path is not None:
            raise click.UsageError("--shared goes with --stdio alone")
        from chatd.transport.forwarder import forward_stdio

        sys.exit(forward_stdio(settings_from_context()))
    from chatd.daemon import serve as run_daemon

    settings = settings_from_context()
    if not stdio and socket_path is None:
        raise click.UsageError("choose --stdio, --socket [PATH], or both")
    path = None
    if socket_path is not None:
        path = Path(socket_path).expanduser() if socket_path else settings.daemon.socket_path
    sys.exit(run_daemon(settings, stdio=stdio, socket_path=path, on_demand=on_demand))


@cli.command("acp")
def acp_agent() -> None:
    """Serve one ACP client (Zed, JetBrains, …) over stdin/stdout: ACP v1, JSON lines."""
    _serve_acp()


def _serve_acp() -> None:
    from chatd.acp.agent import run

    sys.exit(run(settings_from_context()))


@cli.command()
def status() -> None:
    """Show whether a socket daemon runs, what it holds, and whether its settings are current."""
    settings = settings_from_context()
    figures = _ask_running_daemon("daemon/status")
    fingerprint = figures.pop("settingsFingerprint", {})
    for name, value in figures.items():
        click.echo(f"{name:>16}: {value}")
    changed = stale_settings({"settingsFingerprint": fingerprint}, settings)
    current = (
        "current"
        if not changed
        else f"changed since start: {', '.join(changed)} (apply with `chatd restart`)"
    )
    click.echo(f"{'settings':>16}: {current}")


@cli.command()
def stop() -> None:
    """Stop the socket daemon (it saves every session first) and wait until it exited."""
    settings = settings_from_context()

    async def stop_running() -> None:
        link = await _running(settings)
        await stop_daemon(link.client, await link.client.daemon_status())

    asyncio.run(stop_running())
    click.echo("chatd stopped", err=True)


@cli.command()
def restart() -> None:
    """Stop the socket daemon (it saves every session) and start one with the current settings."""
    settings = settings_from_context()

    async def restart_and_tell() -> int:
        async with (await restart_daemon(settings)).client as client:
            return int((await client.daemon_status())["pid"])

    pid = asyncio.run(restart_and_tell())
    click.echo(f"chatd restarted (pid {pid})", err=True)


def _ask_running_daemon(method: str) -> Any:
    """One request to the socket daemon, which must already be running."""
    settings = settings_from_context()

    async def ask() -> Any:
        async with (await _running(settings)).client as client:
            return await client.request(method)

    return asyncio.run(ask())


async def _running(settings: Settings) -> Link:
    link = await connect_running(settings)
    if link is None:
        fail(f"no chatd is running on {settings.daemon.socket_path}")
    return link


def main() -> None:
    """Entry point: ChatdError and client errors become one line and exit status 1."""
    from chatd_client import ConnectionLost, RpcError

    try:
        cli(standalone_mode=True)
    except (ChatdError, RpcError, ConnectionLost) as exc:
        click.echo(f"Error: {getattr(exc, 'message', exc)}", err=True)
        sys.exit(1)
