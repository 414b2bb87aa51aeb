"""``chatd send``: one turn in a new or a continued conversation, streamed to stdout.

Flags that contradict each other are a usage error (exit status 2), never silently dropped:
``-c`` and ``--session`` name different conversations, and a continued conversation keeps its
provider and model unless ``--convert`` translates it into another provider.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from chatd.cli.approval import approver
from chatd.cli.common import conversation_id, fail, settings_from_context, unreadable_summary
from chatd.cli.daemon_link import connect
from chatd.cli.media import ATTACH_OPTION, attachment_params
from chatd.config import Settings

if TYPE_CHECKING:
    from chatd_client import Client

NO_KEY_HINT = (
    "chatd answered with the offline echo provider: no API key is configured. "
    "Set ANTHROPIC_API_KEY, OPENAI_API_KEY or GEMINI_API_KEY, or add a provider to {config}."
)


@click.command()
@click.argument("message")
@click.option("--session", "session_id", metavar="ID", help="Continue this conversation.")
@click.option(
    "-c", "--continue", "continue_last", is_flag=True, help="Continue the newest conversation."
)
@click.option(
    "--provider",
    "-p",
    help="Provider of a new conversation (with --convert: of the continued one).",
)
@click.option("--model", "-m", envvar="CHATD_MODEL", help="Model of a new conversation.")
@click.option("--system", "system_prompt", default="", help="System prompt of a new conversation.")
@click.option(
    "--convert",
    is_flag=True,
    help="With -c or --session and -p: continue in another provider, as a new conversation.",
)
@ATTACH_OPTION
@click.option("--mcp", "mcp_servers", multiple=True, metavar="NAME", help="Enable an MCP server.")
@click.option("--yes", "-y", "assume_yes", is_flag=True, help="Allow every tool call unasked.")
def send(
    message: str,
    session_id: str | None,
    continue_last: bool,
    provider: str | None,
    model: str | None,
    system_prompt: str,
    convert: bool,
    attach: tuple[Path, ...],
    mcp_servers: tuple[str, ...],
    assume_yes: bool,
) -> None:
    """Send MESSAGE ('-' reads stdin) and print the streamed reply.

    Starts a socket daemon in the background if none is running.
    """
    context = click.get_current_context()
    continuing = continue_last or session_id is not None
    if continuing and context.get_parameter_source("model") is not ParameterSource.COMMANDLINE:
        model = None  # CHATD_MODEL is the default of new conversations only
    _check_flags(session_id, continue_last, provider, system_prompt, convert)
    text = _message_text(message)
    settings = settings_from_context()
    turn = _Turn(
        session_id=conversation_id(session_id) if session_id else None,
        continue_last=continue_last,
        new_params={"provider": provider, "model": model, "systemPrompt": system_prompt},
        convert=convert,
        attachments=attachment_params(attach),
        mcp_servers=list(mcp_servers),
        assume_yes=assume_yes,
    )
    asyncio.run(turn.run(settings, text))


def _check_flags(
    session_id: str | None,
    continue_last: bool,
    provider: str | None,
    system_prompt: str,
    convert: bool,
) -> None:
    if continue_last and session_id is not None:
        raise click.UsageError(
            "-c continues the newest conversation and --session a given one: choose one"
        )
    continuing = continue_last or session_id is not None
    if continuing and system_prompt:
        raise click.UsageError("--system applies to new conversations only")
    if convert and not (continuing and provider):
        raise click.UsageError(
            "--convert continues a conversation (-c or --session) in the provider -p names"
        )


def _message_text(message: str) -> str:
    """The message, from stdin for '-' (its final newline stripped); never empty."""
    if message == "-":
        message = sys.stdin.read().removesuffix("\n").removesuffix("\r")
    if not message.strip():
        raise click.UsageError("the message is empty")
    return message


class _Turn:
    """What ``chatd send`` does over one connection."""

    def __init__(
        self,
        *,
        session_id: str | None,
        continue_last: bool,
        new_params: dict[str, str | None],
        convert: bool,
        attachments: list[dict[str, str]],
        mcp_servers: list[str],
        assume_yes: bool,
    ) -> None:
        self.session_id = session_id
        self.continue_last = continue_last
        self.new_params = new_params
        self.convert = convert
        self.attachments = attachments
        self.mcp_servers = mcp_servers
        self.assume_yes = assume_yes

    async def run(self, settings: Settings, message: str) -> None:
        link = await connect(settings)
        async with link.client as client:
            client.on_notification(_print_text_updates)
            client.on_request("tool/approve", approver(self.assume_yes))
            session_id = await self._session(client)
            if self.mcp_servers and session_id:
                await client.chat_restore(session_id, mcp_servers=self.mcp_servers)
            params: dict[str, Any] = {"sessionId": session_id, "message": message}
            if self.attachments:
                params["attachments"] = self.attachments
            result = await client.request("chat/send", params)
        click.echo()
        click.echo(f"conversation {result['sessionId']}", err=True)
        if result.get("saveError"):
            click.echo(f"warning: not saved: {result['saveError']['message']}", err=True)
        new = not self.continue_last and self.session_id is None and not self.new_params["provider"]
        if new and link.default_provider == "echo" and settings.default_provider == "echo":
            config = settings.config_path or "the config file"
            click.echo(NO_KEY_HINT.format(config=config), err=True)

    async def _session(self, client: Client) -> str | None:
        """The id to send to: a continued, converted or new conversation (None: the default)."""
        session_id = self.session_id
        if self.continue_last:
            page = await client.request("store/list", {"limit": 1})
            if not page["items"]:
                if page["problems"]:
                    reasons = [problem["reason"] for problem in page["problems"]]
                    fail(f"there is no conversation to continue: {unreadable_summary(reasons)}")
                fail("there is no saved conversation to continue")
            session_id = str(page["items"][0]["id"])
        provider, model = self.new_params["provider"], self.new_params["model"]
        if session_id is None:
            if not (any(self.new_params.values()) or self.mcp_servers):
                return None
            params: dict[str, Any] = {k: v for k, v in self.new_params.items() if v}
            params["mcpServers"] = self.mcp_servers
            return str((await client.request("chat/new", params))["sessionId"])
        if provider is None and model is None:
            return session_id
        return await self._continued(client, session_id, provider, model)

    async def _continued(
        self, client: Client, session_id: str, provider: str | None, model: str | None
    ) -> str:
        """Check -p/-m against the conversation; with --convert, translate it."""
        params = {"snapshotId": session_id, "historyLimit": 1}
        current = await client.request("chat/restore", params)
        if provider not in (None, current["provider"]):
            if not self.convert:
                raise click.UsageError(
                    f"the conversation is with provider {current['provider']}: add --convert to "
                    f"continue it with {provider} (as a new conversation)"
                )
            params = {"snapshotId": session_id, "provider": provider, "convert": True}
            if model:
                params["model"] = model
            converted = await client.request("chat/restore", params)
            for warning in converted["warnings"]:
                click.echo(f"warning: {warning}", err=True)
            click.echo(
                f"continuing with {provider} in a new conversation {converted['sessionId']}",
                err=True,
            )
            return str(converted["sessionId"])
        if model not in (None, current["model"]):
            raise click.UsageError(
                f"the conversation uses model {current['model']}: -m applies to new "
                "conversations (or, with -p and --convert, to a converted one)"
            )
        return session_id


def _print_text_updates(method: str, params: Any) -> None:
    if method == "chat/update" and params.get("kind") == "text":
        click.echo(params["text"], nl=False)
