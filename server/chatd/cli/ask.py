"""``chatd ask``: one structured answer from the socket daemon, printed as JSON on stdout."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click

from chatd.cli.common import fail, settings_from_context


@click.command()
@click.argument("question")
@click.option(
    "--schema",
    "schema_file",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="JSON Schema file the answer must match.",
)
@click.option("--session", "session_id", metavar="ID", help="Ask within this conversation.")
@click.option("--provider", "-p", help="Provider of a new conversation.")
@click.option("--model", "-m", envvar="CHATD_MODEL", help="Model of a new conversation.")
@click.option("--no-record", is_flag=True, help="Keep the question out of the conversation.")
def ask(
    question: str,
    schema_file: Path,
    session_id: str | None,
    provider: str | None,
    model: str | None,
    no_record: bool,
) -> None:
    """Ask QUESTION ('-' reads stdin); print the answer, validated against the schema, as JSON."""
    if question == "-":
        question = sys.stdin.read()
    try:
        schema = json.loads(schema_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        fail(f"cannot read the schema {schema_file}: {exc}")
    if session_id and (provider or model):
        raise click.UsageError("--provider and --model apply to new conversations only")
    params: dict[str, Any] = {"message": question, "schema": schema, "record": not no_record}
    new_params = {key: value for key, value in (("provider", provider), ("model", model)) if value}
    socket_path = settings_from_context().daemon.socket_path
    result = asyncio.run(_ask(socket_path, session_id, new_params, params))
    click.echo(json.dumps(result["value"], indent=2, ensure_ascii=False))
    click.echo(f"session {result['sessionId']}", err=True)


async def _ask(
    socket_path: Path, session_id: str | None, new_params: dict[str, str], params: dict[str, Any]
) -> Any:
    from chatd_client import Client

    async with await Client.connect_unix(socket_path, start=True) as client:
        await client.initialize("chatd-cli")
        if session_id is None and new_params:
            session_id = (await client.request("chat/new", new_params))["sessionId"]
        return await client.request("chat/ask", {**params, "sessionId": session_id})
