"""The client's MCP servers (``mcpServers`` of ``session/new``, ``load``, ``resume``) as
definitions for the tools layer, which starts, shares and restarts them like configured ones.

Names become ``<server>__<tool>`` tool names, so a client's name is reduced to letters, digits
and ``-``. Environment values and headers are ``Secret``: they reach the server and nothing else.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from chatd.acp.params import schema
from chatd.config import Secret
from chatd.errors import ConfigError, InvalidParams
from chatd.mcp_settings import McpServerSettings, check_url

log = logging.getLogger(__name__)

_NOT_A_NAME = re.compile(r"[^A-Za-z0-9-]+")


def client_servers(servers: list[Any] | None) -> list[McpServerSettings]:
    """stdio and streamable HTTP servers; the transports chatd does not advertise (SSE,
    MCP over ACP) are skipped with a log line.

    :raises InvalidParams: an HTTP server that is not https, nor http to loopback.
    """
    acp = schema()
    definitions = []
    for index, server in enumerate(servers or ()):
        name = _NOT_A_NAME.sub("-", server.name).strip("-") or f"client-{index}"
        if isinstance(server, acp.McpServerStdio):
            definitions.append(
                McpServerSettings(
                    name=name,
                    command=server.command,
                    args=tuple(server.args),
                    env={variable.name: Secret(variable.value) for variable in server.env},
                )
            )
        elif isinstance(server, acp.HttpMcpServer):
            try:
                check_url(server.url, f"mcpServers[{index}]")
            except ConfigError as exc:
                raise InvalidParams(exc.message, field="mcpServers") from None
            headers = {header.name: Secret(header.value) for header in server.headers}
            definitions.append(McpServerSettings(name=name, url=server.url, headers=headers))
        else:
            log.info("MCP server %s: transport %s is not supported", name, type(server).__name__)
    return definitions
