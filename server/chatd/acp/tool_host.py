"""The ACP client as the core's ``ToolHost``: approvals and the client's file system.

- An ``ask`` tool's approval is ``session/request_permission`` with ACP's four option kinds;
  the core stores ``allow_always`` / ``reject_always`` per workspace, exactly as for any
  client. A ``cancelled`` outcome (the client's answer to ``session/cancel``) is no decision.
- When the client advertises ``fs.readTextFile`` / ``fs.writeTextFile``, each session gets
  ``read_text_file`` / ``write_text_file`` tools that the client serves (unsaved buffers
  included), with paths confined to the session's ``cwd`` and additional directories.
  Writing asks first.
"""

from __future__ import annotations

import os
from typing import Any

from chatd.acp.connection import AcpConnection, ClientRequestFailed
from chatd.acp.updates import tool_kind
from chatd.core.providers.base import ToolCall
from chatd.core.store.base import ToolSpec
from chatd.core.tools.host import APPROVAL_OPTIONS, HostFailure, HostReply

OPTION_NAMES = {
    "allow_once": "Allow once",
    "allow_always": "Always allow",
    "reject_once": "Reject",
    "reject_always": "Always reject",
}

READ_TOOL = ToolSpec(
    name="read_text_file",
    description=(
        "Read a text file of the user's workspace as the editor has it (unsaved changes "
        "included). `path` is absolute; `line` (1-based) and `limit` select lines."
    ),
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "absolute path"},
            "line": {"type": "integer", "minimum": 1},
            "limit": {"type": "integer", "minimum": 1},
        },
        "required": ["path"],
    },
)

WRITE_TOOL = ToolSpec(
    name="write_text_file",
    description="Write a text file of the user's workspace (created if missing); absolute `path`.",
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "absolute path"},
            "content": {"type": "string"},
        },
        "required": ["path", "content"],
    },
    approval="ask",
)


def client_tool_specs(capabilities: dict[str, Any]) -> list[ToolSpec]:
    """The file tools the client offers, from its ``clientCapabilities``."""
    fs = capabilities.get("fs")
    if not isinstance(fs, dict):
        return []
    offered = [
        (fs.get("readTextFile") is True, READ_TOOL),
        (fs.get("writeTextFile") is True, WRITE_TOOL),
    ]
    return [spec for wanted, spec in offered if wanted]


class AcpToolHost:
    def __init__(self, connection: AcpConnection) -> None:
        self._connection = connection
        self._roots: dict[str, tuple[str, ...]] = {}
        self._closed = False

    @property
    def open(self) -> bool:
        return not self._closed

    def close(self) -> None:
        self._closed = True

    def set_roots(self, session_id: str, roots: list[str]) -> None:
        """The directories this session's file tools may touch."""
        self._roots[session_id] = tuple(os.path.normpath(root) for root in roots)

    async def approve(self, session_id: str, call: ToolCall) -> str:
        params = {
            "sessionId": session_id,
            "toolCall": {
                "toolCallId": call.id,
                "title": call.name,
                "kind": tool_kind(call.name),
                "rawInput": call.arguments,
            },
            "options": [
                {"optionId": kind, "name": OPTION_NAMES[kind], "kind": kind}
                for kind in APPROVAL_OPTIONS
            ],
        }
        result = await self._request("session/request_permission", params)
        outcome = result.get("outcome") if isinstance(result, dict) else None
        if not isinstance(outcome, dict) or outcome.get("outcome") != "selected":
            raise HostFailure("the client cancelled the permission request")
        if outcome.get("optionId") not in APPROVAL_OPTIONS:
            raise HostFailure("the client selected an option chatd did not offer")
        return str(outcome["optionId"])

    async def call_tool(self, session_id: str, call: ToolCall) -> HostReply:
        arguments = call.arguments
        path = self._confined(session_id, arguments.get("path"))
        if call.name == READ_TOOL.name:
            params = {"sessionId": session_id, "path": path}
            params.update({k: arguments[k] for k in ("line", "limit") if k in arguments})
            result = await self._request("fs/read_text_file", params)
            if not isinstance(result, dict) or not isinstance(result.get("content"), str):
                raise HostFailure("the client's fs/read_text_file reply had no content")
            return HostReply(result["content"])
        if call.name == WRITE_TOOL.name:
            params = {"sessionId": session_id, "path": path, "content": arguments["content"]}
            await self._request("fs/write_text_file", params)
            return HostReply(f"wrote {path}")
        raise HostFailure(f"the ACP client does not host a tool named {call.name}")

    def _confined(self, session_id: str, path: Any) -> str:
        if not isinstance(path, str) or not os.path.isabs(path):
            raise HostFailure("path must be an absolute path")
        normal = os.path.normpath(path)
        roots = self._roots.get(session_id, ())
        if not any(normal == root or normal.startswith(root.rstrip("/") + "/") for root in roots):
            allowed = ", ".join(roots) or "none"
            raise HostFailure(f"{normal} is outside this session's directories ({allowed})")
        return normal

    async def _request(self, method: str, params: dict[str, Any]) -> Any:
        if self._closed:
            raise HostFailure("the ACP client disconnected before it answered")
        try:
            return await self._connection.request(method, params)
        except ClientRequestFailed as exc:
            message = exc.error.get("message") if isinstance(exc.error, dict) else exc.error
            raise HostFailure(f"the client answered {method} with an error: {message}") from None
