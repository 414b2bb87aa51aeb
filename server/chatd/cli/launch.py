"""The ``chatd`` executable's first step: the shared forwarder starts without the CLI framework.

Editors start ``chatd serve --stdio --shared`` for every session and wait for its answer;
click alone takes as long to import as the interpreter takes to start. So that exact command
line runs the forwarder directly; every other one (the forwarder with ``--config`` included)
goes through the click CLI in ``chatd.cli.main``.
"""

from __future__ import annotations

import sys

FORWARDER_FLAGS = {"--stdio", "--shared"}


def main() -> None:
    arguments = sys.argv[1:]
    if len(arguments) == 3 and arguments[0] == "serve" and set(arguments[1:]) == FORWARDER_FLAGS:
        sys.exit(_forward())
    from chatd.cli.main import main as run_cli

    run_cli()


def _forward() -> int:
    from chatd.config import load_settings
    from chatd.errors import ChatdError
    from chatd.transport.forwarder import forward_stdio

    try:
        settings = load_settings()
    except ChatdError as exc:
        sys.stderr.write(f"Error: {exc.message}\n")
        return 1
    return forward_stdio(settings)
