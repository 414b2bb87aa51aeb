"""``chatd store …`` and ``chatd key …``: saved conversations and the store key, without a daemon.

stdout carries only what was asked for (a table, JSON, a transcript, a key); progress, notes and
problems go to stderr. Every failure is one line and a non-zero exit status.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from chatd.cli.common import conversation_id, fail, settings_from_context, unreadable_summary
from chatd.cli.media import gc
from chatd.cli.sources import conversation_source
from chatd.core.store.base import Snapshot, SnapshotSummary, StoreProblem
from chatd.core.store.keys import (
    format_key,
    generate_key,
    read_key_file,
    resolve_key,
    write_key_file,
)
from chatd.core.store.reencrypt import Reencryption
from chatd.core.store.snapshot import encode_json, format_time, summarize, to_document
from chatd.errors import ChatdError

TITLE_WIDTH = 48
"""Titles are cut here in the table, so a row stays on one line of a wide terminal."""

TEXT_BLOCK_TYPES = frozenset({"text", "input_text", "output_text"})
"""Content blocks holding plain text: Anthropic and OpenAI chat (``text``), OpenAI Responses."""

SPEAKERS = {"user": "User", "assistant": "Assistant", "model": "Assistant", "system": "System"}
"""Roles a transcript shows (Gemini says ``model``); tool turns are not conversation text."""

P = ParamSpec("P")
R = TypeVar("R")


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Store and file errors become one line on stderr, never a traceback."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ChatdError as exc:
            fail(exc.message)
        except OSError as exc:
            fail(f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc))

    return run


@click.group()
def store() -> None:
    """Saved conversations: list, show, delete, encrypt."""


@store.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--provider", help="Only conversations of this provider.")
@click.option("--all", "every_page", is_flag=True, help="Every conversation, not one page.")
@click.option("--json", "as_json", is_flag=True, help="Print {items, problems} as JSON.")
@reports_errors
def list_command(limit: int, provider: str | None, every_page: bool, as_json: bool) -> None:
    """Saved conversations, newest first; unreadable files are reported on stderr.

    Through the running daemon if there is one (it holds the key and the live conversations).
    """
    items, problems, more = asyncio.run(_listing(limit, provider, every_page))
    if as_json:
        document = {"items": [_summary_json(item) for item in items]}
        document["problems"] = [vars(problem) for problem in problems]
        click.echo(encode_json(document, pretty=True).decode())
    elif items:
        click.echo(_table(items))
    elif not problems:
        click.echo("no saved conversations", err=True)
    if more and not as_json:
        click.echo(f"(first {limit} shown: use --all for every conversation)", err=True)
    _report_problems(problems)
    if problems and not items:
        fail(unreadable_summary([problem.reason for problem in problems]))


async def _listing(
    limit: int, provider: str | None, every_page: bool
) -> tuple[list[SnapshotSummary], list[StoreProblem], bool]:
    """The summaries, the problems, and whether more conversations remain unlisted."""
    async with conversation_source(settings_from_context()) as conversations:
        items: list[SnapshotSummary] = []
        cursor: str | None = None
        problems: list[StoreProblem] = []
        while True:
            wanted = limit if every_page else limit - len(items)
            page = await conversations.list(limit=wanted, cursor=cursor, provider=provider)
            items += page.items
            problems = problems or list(page.problems)
            cursor = page.next_cursor
            if cursor is None or (not every_page and len(items) >= limit):
                return items, problems, cursor is not None


@store.command()
@click.argument("snapshot_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="The whole snapshot as JSON.")
@click.option("--markdown", is_flag=True, help="The conversation's text as a Markdown transcript.")
@reports_errors
def show(snapshot_id: str, as_json: bool, markdown: bool) -> None:
    """One conversation: its summary, its JSON, or its transcript."""
    snapshot = asyncio.run(_load(conversation_id(snapshot_id)))
    if as_json:
        click.echo(encode_json(to_document(snapshot), pretty=True).decode())
    elif markdown:
        click.echo(transcript(snapshot))
    else:
        for name, value in _summary_json(summarize(snapshot)).items():
            click.echo(f"{name:>14}: {value}")


@store.command()
@click.argument("snapshot_id", metavar="ID")
@reports_errors
def delete(snapshot_id: str) -> None:
    """Delete one conversation (from the running daemon's memory too)."""
    snapshot_id = conversation_id(snapshot_id)
    asyncio.run(_delete(snapshot_id))
    click.echo(f"deleted {snapshot_id}", err=True)


async def _load(snapshot_id: str) -> Snapshot:
    async with conversation_source(settings_from_context()) as conversations:
        return await conversations.load(snapshot_id)


async def _delete(snapshot_id: str) -> None:
    async with conversation_source(settings_from_context()) as conversations:
        await conversations.delete(snapshot_id)


@store.command()
def path() -> None:
    """Print the store directory."""
    click.echo(str(settings_from_context().store.dir))


@store.command()
@click.option(
    "--new-key-file",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="File holding the new key (mode 0600; `chatd key generate --output PATH`).",
)
@reports_errors
def rekey(new_key_file: Path) -> None:
    """Re-encrypt every conversation under a new key. Safe to interrupt and run again."""
    settings = settings_from_context().store
    new_key = read_key_file(new_key_file)
    _reencrypt(settings.dir, old_key=resolve_key(settings), new_key=new_key, verb="re-encrypt")
    click.echo(
        f"the store now needs the new key: set CHATD_STORE_KEY_FILE={new_key_file} "
        "(or store.key_file) and unset CHATD_STORE_KEY",
        err=True,
    )


@store.command()
@reports_errors
def encrypt() -> None:
    """Encrypt a plaintext store with the configured key. Safe to interrupt and run again."""
    settings = settings_from_context().store
    new_key = resolve_key(settings)
    if new_key is None:
        fail(
            "no store key is configured: set CHATD_STORE_KEY or CHATD_STORE_KEY_FILE "
            "(or store.key_file); `chatd key generate --output PATH` makes one"
        )
    _reencrypt(settings.dir, old_key=None, new_key=new_key, verb="encrypt")


@click.group()
def key() -> None:
    """The store's encryption key."""


@key.command()
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the key to this new file (mode 0600) instead of printing it.",
)
@reports_errors
def generate(output: Path | None) -> None:
    """Make a fresh 32-byte key (base64)."""
    if output is None:
        click.echo(format_key(generate_key()))
        return
    _make_private_parents(output)
    try:
        write_key_file(output, generate_key())
    except FileExistsError:
        fail(f"{output} already exists; refusing to overwrite a key")
    where = output.absolute()
    click.echo(f"wrote a new store key to {where}: set CHATD_STORE_KEY_FILE={where}", err=True)


def _make_private_parents(path: Path) -> None:
    """Create the missing directories above ``path``, each 0700 (a key's home is private)."""
    missing = [parent for parent in path.absolute().parents if not parent.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=0o700)


def _reencrypt(directory: Path, *, old_key: bytes | None, new_key: bytes, verb: str) -> None:
    """``verb``: what is done to each file, "encrypt" or "re-encrypt"."""
    run = Reencryption(directory, old_key=old_key, new_key=new_key)
    converted, failures = 0, []
    files = run.start()
    with click.progressbar(files, label=f"{verb}ing", file=sys.stderr) as progress:
        for file in progress:
            try:
                if run.convert(file):
                    converted += 1
            except ChatdError as exc:
                failures.append(exc.message)
    run.finish()
    click.echo(f"{converted} of {len(files)} files {verb}ed", err=True)
    for message in failures:
        click.echo(f"  {message}", err=True)
    if failures:
        fail(f"{len(failures)} files were not {verb}ed (listed above); fix them and run again")


def transcript(snapshot: Snapshot) -> str:
    """The text turns of a conversation as Markdown, whatever the provider's message shape."""
    heading = snapshot.title or f"Conversation {snapshot.id}"
    parts = [f"# {heading}", f"_{snapshot.provider} · {snapshot.model}_"]
    if snapshot.system_prompt:
        parts += ["## System", snapshot.system_prompt]
    for message in snapshot.messages:
        if isinstance(message, dict) and message.get("role") in SPEAKERS:
            text = "\n\n".join(_texts(message.get("content")) + _texts(message.get("parts")))
            if text.strip():
                parts += [f"## {SPEAKERS[message['role']]}", text]
    return "\n\n".join(parts)


def _texts(content: Any) -> list[str]:
    """Text of a message's ``content`` (a string or blocks) or Gemini ``parts``."""
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    return [
        block["text"]
        for block in content
        if isinstance(block, dict)
        and isinstance(block.get("text"), str)
        and block.get("type", "text") in TEXT_BLOCK_TYPES
    ]


def _summary_json(summary: SnapshotSummary) -> dict[str, Any]:
    fields = dict(vars(summary))
    fields["created_at"] = format_time(summary.created_at)
    fields["updated_at"] = format_time(summary.updated_at)
    return fields


def _table(items: Sequence[SnapshotSummary]) -> str:
    rows = [("ID", "UPDATED", "PROVIDER", "MODEL", "MESSAGES", "TITLE")]
    for item in items:
        title = item.title or ""
        if len(title) > TITLE_WIDTH:
            title = title[: TITLE_WIDTH - 1] + "…"
        updated = _local(item.updated_at)
        rows.append((item.id, updated, item.provider, item.model, str(item.message_count), title))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _report_problems(problems: Iterable[StoreProblem]) -> None:
    for problem in problems:
        click.echo(f"problem: {problem.file} ({problem.reason}): {problem.message}", err=True)


store.add_command(gc)
