"""The ``[mcp]`` part of the settings: which MCP servers exist and which every session gets.

Parsed from the already-read TOML document by ``config.load_settings``; values in a server's
``env`` are ``Secret`` so they never show in a repr, a log or an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chatd.config import Secret
from chatd.errors import ConfigError
from chatd.loopback import is_loopback

SERVER_NAME = re.compile(r"^[A-Za-z0-9-]+(?:_[A-Za-z0-9-]+)*$")
"""No ``__`` in a server name: tools are named ``<server>__<tool>``."""

SERVER_KEYS = {"command", "args", "env", "cwd", "url", "approval"}


@dataclass(frozen=True, kw_only=True)
class McpServerSettings:
    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, Secret] = field(default_factory=dict)
    cwd: Path | None = None
    url: str | None = None
    """Streamable HTTP: https, or http to a loopback address only."""
    headers: Mapping[str, Secret] = field(default_factory=dict)
    """Sent with every HTTP request (an ACP client's server may carry a token here)."""
    approval: str = "auto"
    """The approval of every tool of this server: ``auto``, ``ask`` or ``deny``."""


@dataclass(frozen=True, kw_only=True)
class McpSettings:
    servers: Mapping[str, McpServerSettings] = field(default_factory=dict)
    default_servers: tuple[str, ...] = ()


def mcp_settings(data: Mapping[str, Any]) -> McpSettings:
    """:raises ConfigError: unknown keys, wrong types, bad names, URLs or default servers."""
    unknown = sorted(set(data) - {"servers", "default_servers"})
    if unknown:
        raise ConfigError(f"[mcp]: unknown setting {', '.join(unknown)}")
    servers_table = data.get("servers", {})
    if not isinstance(servers_table, dict):
        raise ConfigError("[mcp] servers must be a table")
    servers = {name: _server(name, table) for name, table in servers_table.items()}
    defaults = _strings(data.get("default_servers", []), "[mcp] default_servers")
    for name in defaults:
        if name not in servers:
            raise ConfigError(f"[mcp] default_servers names {name!r}, which is not configured")
    return McpSettings(servers=servers, default_servers=tuple(defaults))


def _server(name: str, table: Any) -> McpServerSettings:
    where = f"[mcp.servers.{name}]"
    if not SERVER_NAME.match(name):
        raise ConfigError(f"{where}: the name must be letters, digits, - and single _")
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(table) - SERVER_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown setting {', '.join(unknown)}")
    command, url = table.get("command"), table.get("url")
    if (command is None) == (url is None):
        raise ConfigError(f"{where}: give exactly one of command and url")
    env = table.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise ConfigError(f"{where}: env must be a table of strings")
    cwd = table.get("cwd")
    if command is not None and not isinstance(command, str):
        raise ConfigError(f"{where}: command must be a string")
    if cwd is not None and not isinstance(cwd, str):
        raise ConfigError(f"{where}: cwd must be a string")
    if url is not None:
        check_url(url, where)
    approval = table.get("approval", "auto")
    if approval not in ("auto", "ask", "deny"):
        raise ConfigError(f"{where}: approval must be auto, ask or deny")
    return McpServerSettings(
        name=name,
        command=command,
        args=tuple(_strings(table.get("args", []), f"{where} args")),
        env={key: Secret(value) for key, value in env.items()},
        cwd=Path(cwd).expanduser() if cwd else None,
        url=url,
        approval=approval,
    )


def check_url(url: Any, where: str) -> None:
    """:raises ConfigError: not https, nor http to a loopback address."""
    if not isinstance(url, str):
        raise ConfigError(f"{where}: url must be a string")
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return
    raise ConfigError(f"{where}: url must be https, or http to a loopback address")


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where} must be a list of strings")
    return list(value)
