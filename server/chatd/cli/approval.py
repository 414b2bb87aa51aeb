"""``chatd send``'s answer to ``tool/approve``: a terminal prompt, or ``--yes`` for scripts."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import click

CHOICES = {"o": "allow_once", "a": "allow_always", "r": "reject_once", "n": "reject_always"}
PROMPT = "allow [o]nce, [a]lways, [r]eject, reject always [n]"
MAX_SHOWN_ARGUMENTS = 400
"""Characters of a call's arguments shown in the prompt; enough to judge it."""


def approver(assume_yes: bool) -> Any:
    """A ``tool/approve`` handler for ``Client.on_request``."""

    async def approve(params: Any) -> dict[str, str]:
        if assume_yes:
            return {"decision": "allow_once"}
        if not sys.stdin.isatty():
            click.echo(
                f"\nrejected tool {params['name']}: no terminal to ask (use --yes)", err=True
            )
            return {"decision": "reject_once"}
        arguments = json.dumps(params.get("arguments", {}), ensure_ascii=False)
        if len(arguments) > MAX_SHOWN_ARGUMENTS:
            arguments = arguments[:MAX_SHOWN_ARGUMENTS] + "…"
        click.echo(f"\nthe model wants to run {params['name']} {arguments}", err=True)
        answer = await asyncio.to_thread(
            click.prompt, PROMPT, type=click.Choice(list(CHOICES)), default="r", err=True
        )
        return {"decision": CHOICES[answer]}

    return approve
