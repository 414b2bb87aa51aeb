"""Asking the user before an ``ask`` tool runs: stored policy first, else every attached client.

The first client to answer wins and the other questions are withdrawn (their requests are
cancelled). No client, no valid answer, or no answer in time is a rejection, never a hang.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import anyio

from chatd.core.providers.base import ToolCall
from chatd.core.tools.host import HostFailure, ToolHost
from chatd.core.tools.policies import PolicyStore
from chatd.errors import ChatdError

log = logging.getLogger(__name__)

APPROVAL_TIMEOUT_S = 600.0
"""Ten minutes for a person to answer; after that the call is rejected and the turn goes on."""

UNANSWERED = "unanswered"


async def decide(
    session_id: str,
    call: ToolCall,
    *,
    workspace: str,
    clients: Iterable[ToolHost],
    policies: PolicyStore | None,
) -> str:
    """One of the approval options, or ``unanswered``; remembers ``*_always`` answers."""
    if policies is not None:
        try:
            stored = await anyio.to_thread.run_sync(policies.lookup, workspace, call.name)
        except ChatdError as exc:  # an unreadable policy file: ask, as if nothing were stored
            log.warning("%s", exc.message)
            stored = None
        if stored is not None:
            return stored
    decision = await _ask(session_id, call, [client for client in clients if client.open])
    if policies is not None and decision in ("allow_always", "reject_always"):
        try:
            await anyio.to_thread.run_sync(policies.remember, workspace, call.name, decision)
        except ChatdError as exc:
            log.warning("could not remember the approval of %s: %s", call.name, exc.message)
    return decision


def allowed(decision: str) -> bool:
    return decision in ("allow_once", "allow_always")


async def _ask(session_id: str, call: ToolCall, clients: list[ToolHost]) -> str:
    answer = UNANSWERED
    if not clients:
        return answer
    with anyio.move_on_after(APPROVAL_TIMEOUT_S):
        async with anyio.create_task_group() as group:

            async def ask(client: ToolHost) -> None:
                nonlocal answer
                try:
                    decision = await client.approve(session_id, call)
                except HostFailure as exc:
                    log.info("a client could not approve %s: %s", call.name, exc.message)
                    return
                if answer == UNANSWERED:
                    answer = decision
                    group.cancel_scope.cancel()

            for client in clients:
                group.start_soon(ask, client)
    return answer
