"""Where the daemon's log goes: stderr or the configured file, never stdout (the protocol)."""

from __future__ import annotations

import logging
import sys

from chatd.config import Settings


def configure_logging(settings: Settings, *, stdio: bool) -> None:
    """An editor shows each stderr line of its server in its own log (Neovim at ERROR level),
    so on stdio a normal run writes nothing: the default level there is warning."""
    handler: logging.Handler
    if settings.daemon.log_file is not None:
        handler = logging.FileHandler(settings.daemon.log_file)
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("chatd")
    root.addHandler(handler)
    level = settings.daemon.log_level or ("warning" if stdio else "info")
    root.setLevel(level.upper())
