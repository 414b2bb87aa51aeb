"""The ``chatd`` command: run the daemon, talk to it, manage the store.

Thin by design: daemon commands go through ``chatd_client``, store commands to the store.
Every failure is one line on stderr and a non-zero status, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from chatd.cli.common import fail, settings_from_context
from chatd.errors import ChatdError

NO_KEY_HINT = (
    "chatd answered with the offline echo provider: no API key is configured. "
    "Set ANTHROPIC_API_KEY, OPENAI_API_KEY or GEMINI_API_KEY, or add a provider to {config}."
)


class _LazyGroup(click.Group):
    """Loads the store commands only when they run: ``serve --shared`` must not load the store."""

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
@click.option(
    "--shared",
    is_flag=True,
    help="With --stdio: forward to the per-user socket daemon, starting it if none runs.",
)
def serve(stdio: bool, socket_path: str | None, shared: bool) -> None:
    """Run the daemon (or, with --stdio --shared, attach to the shared one)."""
    settings = settings_from_context()
    if shared:
        if not stdio or socket_path is not None:
            raise click.UsageError("--shared goes with --stdio alone")
        from chatd.transport.forwarder import forward_stdio

        sys.exit(forward_stdio(settings))
    from chatd.daemon import serve as run_daemon

    if not stdio and socket_path is None:
        raise click.UsageError("choose --stdio, --socket [PATH], or both")
    path = None
    if socket_path is not None:
        path = Path(socket_path).expanduser() if socket_path else settings.daemon.socket_path
    sys.exit(run_daemon(settings, stdio=stdio, socket_path=path))


@cli.command()
@click.argument("message")
@click.option("--session", "session_id", metavar="ID", help="Continue this conversation.")
@click.option(
    "-c", "--continue", "continue_last", is_flag=True, help="Continue the newest conversation."
)
@click.option("--provider", "-p", help="Provider of a new conversation.")
@click.option("--model", "-m", envvar="CHATD_MODEL", help="Model of a new conversation.")
@click.option("--system", "system_prompt", default="", help="System prompt of a new conversation.")
def send(
    message: str,
    session_id: str | None,
    continue_last: bool,
    provider: str | None,
    model: str | None,
    system_prompt: str,
) -> None:
    """Send MESSAGE ('-' reads stdin) and print the streamed reply.

    Starts a socket daemon in the background if none is running.
    """
    if message == "-":
        message = sys.stdin.read()
    settings = settings_from_context()
    if session_id and (provider or model or system_prompt):
        raise click.UsageError("--provider, --model and --system apply to new conversations only")
    hint = NO_KEY_HINT.format(config=settings.config_path or "the config file")
    conversation = _Conversation(session_id, continue_last, provider, model, system_prompt)
    import asyncio

    asyncio.run(conversation.send(settings.daemon.socket_path, message, hint))


@cli.command()
def status() -> None:
    """Show whether a socket daemon is running, and what it holds."""
    figures = _ask_running_daemon("daemon/status")
    for name, value in figures.items():
        click.echo(f"{name:>16}: {value}")


@cli.command()
def stop() -> None:
    """Stop the socket daemon (it saves every session first)."""
    _ask_running_daemon("daemon/stop")
    click.echo("chatd stopped", err=True)


def _ask_running_daemon(method: str) -> Any:
    """One request to the socket daemon, which must already be running."""
    import asyncio

    from chatd_client import Client

    socket_path = settings_from_context().daemon.socket_path

    async def ask() -> Any:
        async with await Client.connect_unix(socket_path) as client:
            await client.initialize("chatd-cli")
            return await client.request(method)

    try:
        return asyncio.run(ask())
    except (FileNotFoundError, ConnectionRefusedError):
        fail(f"no chatd is running on {socket_path}")


class _Conversation:
    """What ``chatd send`` does over one connection."""

    def __init__(
        self,
        session_id: str | None,
        continue_last: bool,
        provider: str | None,
        model: str | None,
        system_prompt: str,
    ) -> None:
        self.session_id = session_id
        self.continue_last = continue_last
        self.new_params = {"provider": provider, "model": model, "systemPrompt": system_prompt}

    async def send(self, socket_path: Path, message: str, hint: str) -> None:
        from chatd_client import Client

        async with await Client.connect_unix(socket_path, start=True) as client:
            info = await client.initialize("chatd-cli")
            client.on_notification(_print_text_updates)
            session_id = await self._session(client)
            result = await client.request(
                "chat/send", {"sessionId": session_id, "message": message}
            )
        click.echo()
        click.echo(f"session {result['sessionId']}", err=True)
        if result.get("saveError"):
            click.echo(f"warning: not saved: {result['saveError']['message']}", err=True)
        if info["capabilities"]["defaultProvider"] == "echo" and session_id is None:
            click.echo(hint, err=True)

    async def _session(self, client: Any) -> str | None:
        if self.continue_last:
            page = await client.request("store/list", {"limit": 1})
            if not page["items"]:
                fail("there is no saved conversation to continue")
            return str(page["items"][0]["id"])
        if self.session_id or not any(self.new_params.values()):
            return self.session_id
        params = {key: value for key, value in self.new_params.items() if value}
        created = await client.request("chat/new", params)
        return str(created["sessionId"])


def _print_text_updates(method: str, params: Any) -> None:
    if method == "chat/update" and params.get("kind") == "text":
        click.echo(params["text"], nl=False)


def main() -> None:
    """Entry point: ChatdError and client errors become one line and exit status 1."""
    from chatd_client import ConnectionLost, RpcError

    try:
        cli(standalone_mode=True)
    except (ChatdError, RpcError, ConnectionLost) as exc:
        click.echo(f"Error: {getattr(exc, 'message', exc)}", err=True)
        sys.exit(1)
