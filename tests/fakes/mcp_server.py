"""A small MCP server for the tests, written with the ``mcp`` SDK, served over stdio.

Run as ``python -m tests.fakes.mcp_server`` (with ``--http PORT``: streamable HTTP on
127.0.0.1). ``crash`` exits the process mid-call (a dying server); ``secret`` reports whether
``CHATD_TEST_MCP_SECRET`` reached its environment; ``MCP_TEST_STARTS`` names a file that gets
one line per start, so tests can count restarts; ``header`` reports an HTTP request header.
"""

from __future__ import annotations

import os
import sys

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("chatd-test")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def shout(text: str) -> str:
    """The text in capitals."""
    return text.upper()


@server.tool()
def fail(reason: str) -> str:
    """Always fails with the reason."""
    raise ToolError(reason)


@server.tool()
def crash() -> str:
    """Kill this server process mid-call."""
    os._exit(3)


@server.tool()
def secret() -> str:
    """Whether the configured secret reached this process."""
    return "present" if os.environ.get("CHATD_TEST_MCP_SECRET") else "absent"


@server.tool()
def header(name: str, ctx: Context) -> str:
    """The value of an HTTP request header (over streamable HTTP), or absent."""
    return (ctx.headers or {}).get(name.lower(), "absent")


if __name__ == "__main__":
    starts = os.environ.get("MCP_TEST_STARTS")
    if starts:
        with open(starts, "a") as log:
            log.write("start\n")
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
