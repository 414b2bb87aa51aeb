"""What every ``chatd`` subcommand needs: the settings, and one way to fail."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import click

from chatd.config import Settings, load_settings
from chatd.core.store.crypto import KEY_SOURCES
from chatd.errors import ChatdError


def settings_from_context() -> Settings:
    """Settings from ``--config`` (or CHATD_CONFIG) and the environment, read once."""
    context = click.get_current_context()
    root = context.find_root()
    cached = root.meta.get("chatd.settings")
    if isinstance(cached, Settings):
        return cached
    config: Path | None = root.params.get("config")
    try:
        settings = load_settings(config)
    except ChatdError as exc:
        fail(exc.message)
    root.meta["chatd.settings"] = settings
    return settings


def fail(message: str) -> NoReturn:
    """One line on stderr, exit status 1."""
    raise click.ClickException(message)


def conversation_id(text: str) -> str:
    """A conversation id as a user may paste it (any case, braces, no dashes), normalised.

    Anything that is no UUID is passed on as it is, for the store's own error message.
    """
    try:
        return str(uuid.UUID(text.strip()))
    except ValueError:
        return text


UNREADABLE_HINTS = {
    "encrypted_no_key": f"configure the store key ({KEY_SOURCES})",
    "decrypt_failed": f"they are under another key: configure the store's key ({KEY_SOURCES})",
    "not_encrypted": "they are not encrypted: run `chatd store encrypt`",
}


def unreadable_summary(reasons: Sequence[str]) -> str:
    """One line for conversations that could not be read, saying what fixes most of them."""
    common = max(set(reasons), key=reasons.count)
    hint = UNREADABLE_HINTS.get(common, "see the problems listed by `chatd store list`")
    return f"{len(reasons)} conversations could not be read: {hint}"
