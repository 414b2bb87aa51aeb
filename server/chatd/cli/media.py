"""``chatd store gc`` (media blobs no conversation uses) and ``--attach`` for messages."""

from __future__ import annotations

import base64
from pathlib import Path

import click

from chatd.cli.common import fail, settings_from_context
from chatd.core.store import open_store
from chatd.errors import ChatdError


@click.command("gc")
def gc() -> None:
    """Remove media blobs no conversation uses; safe while daemons save."""
    try:
        collected = open_store(settings_from_context().store).gc()
    except ChatdError as exc:
        fail(exc.message)
    if collected.unreadable:
        fail(
            "nothing removed: cannot read "
            + ", ".join(collected.unreadable)
            + " (its media might still be needed)"
        )
    click.echo(f"removed {collected.removed} media blobs, kept {collected.kept}", err=True)


ATTACH_OPTION = click.option(
    "--attach",
    "attach",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Attach an image, PDF, audio or video file (repeat for more).",
)


def attachment_params(paths: tuple[Path, ...]) -> list[dict[str, str]]:
    """Files read here and sent as data, so the daemon needs no access to them."""
    return [
        {"data": base64.b64encode(path.read_bytes()).decode("ascii"), "name": path.name}
        for path in paths
    ]
