"""What every ``chatd`` subcommand needs: the settings, and one way to fail."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click

from chatd.config import Settings, load_settings
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
