"""The ACP method table: each handler checks its params, makes core calls, shapes the result."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

import chatd
from chatd.acp import params as p
from chatd.acp.connection import AcpConnection
from chatd.acp.listing import list_sessions, record_directories, workspace_of
from chatd.acp.mcp_servers import client_servers
from chatd.acp.options import MODEL_OPTION, PROVIDER_OPTION, config_options
from chatd.acp.prompt import read_prompt
from chatd.acp.tool_host import AcpToolHost, client_tool_specs
from chatd.acp.turns import after_turn, checked_cwd, checked_directories, keep_roots
from chatd.acp.updates import replay_lines
from chatd.core.manager import SessionManager
from chatd.core.providers import ProviderInfo
from chatd.core.session import Session
from chatd.core.store.base import ToolSpec
from chatd.errors import InvalidParams, MediaRejected, SnapshotNotFound
from chatd.mcp_settings import McpServerSettings

PROTOCOL_VERSION = 1


class AcpMethods:
    def __init__(self, manager: SessionManager, connection: AcpConnection, home: Path) -> None:
        self.manager = manager
        self.connection = connection
        self.home = home
        self.host = AcpToolHost(connection)
        self.client_tools: list[ToolSpec] = []
        self._providers: list[ProviderInfo] | None = None

    def install(self) -> None:
        self.connection.handlers.update(
            {
                "initialize": self.initialize,
                "session/new": self.session_new,
                "session/load": self.session_load,
                "session/resume": self.session_resume,
                "session/prompt": self.session_prompt,
                "session/set_config_option": self.session_set_config_option,
                "session/list": self.session_list,
                "session/close": self.session_close,
                "session/delete": self.session_delete,
            }
        )
        self.connection.notifications["session/cancel"] = self.session_cancel

    async def initialize(self, params: Any) -> dict[str, Any]:
        """Version 1, what we offer; the pydantic schema is warmed on a thread meanwhile."""
        self.client_tools = client_tool_specs(p.client_capabilities(params))
        p.warm_up()
        return {
            "protocolVersion": PROTOCOL_VERSION,
            "agentCapabilities": {**AGENT_CAPABILITIES, "promptCapabilities": self._prompts()},
            "agentInfo": {"name": "chatd", "title": "chatd", "version": chatd.__version__},
            "authMethods": [],
        }

    async def session_new(self, params: Any) -> dict[str, Any]:
        """A chatd session whose workspace is ``cwd``; nothing is written until its first turn."""
        args = p.parse(params, "NewSessionRequest")
        servers = client_servers(args.mcp_servers)
        additional = checked_directories(args.additional_directories)
        session = await self.manager.new_session(
            workspace=checked_cwd(args.cwd), tools=self.client_tools, host=self.host
        )
        record_directories(session.metadata, additional)
        self._bind(session, args.cwd, additional, servers)
        return {"sessionId": session.id, "configOptions": await self._options(session)}

    async def session_load(self, params: Any) -> dict[str, Any]:
        """Replay the whole conversation as updates, then answer."""
        args = p.parse(params, "LoadSessionRequest")
        session = await self._reattach(args)
        items = session.provider.transcript(session.conversation.history)
        for line in replay_lines(session.id, items):
            self.connection.writer.write(line)
        return {"configOptions": await self._options(session)}

    async def session_resume(self, params: Any) -> dict[str, Any]:
        """Reattach without replay (the client has the transcript)."""
        args = p.parse(params, "ResumeSessionRequest")
        session = await self._reattach(args)
        return {"configOptions": await self._options(session)}

    async def session_prompt(self, params: Any) -> dict[str, Any]:
        """One turn; chunks stream as updates, then usage and title, then this answer."""
        args = p.parse(params, "PromptRequest")
        session = await self.manager.get(args.session_id)
        prompt = read_prompt(args.prompt, session.provider.media_types)
        if session.id not in self.connection.attached:
            self._bind(session, workspace_of(session.metadata), ())
        title = session.title
        try:
            result = await self.manager.send(
                session.id, prompt.text, attachments=prompt.attachments
            )
        except MediaRejected as exc:
            raise prompt.located(exc) from None
        return after_turn(self.connection, result, title)

    async def session_set_config_option(self, params: Any) -> dict[str, Any]:
        """Change the provider (as ``chat/restore`` would) or the model."""
        args = p.parse(params, "SetSessionConfigOptionSelectRequest")
        if args.config_id not in (PROVIDER_OPTION, MODEL_OPTION):
            raise InvalidParams(f"unknown config option {args.config_id!r}", field="configId")
        value = str(args.value)
        if args.config_id == PROVIDER_OPTION:
            restored = await self.manager.restore(args.session_id, provider=value)
        else:
            restored = await self.manager.restore(args.session_id, model=value)
        self.connection.attach(restored.session)
        return {"configOptions": await self._options(restored.session, refresh=True)}

    async def session_list(self, params: Any) -> dict[str, Any]:
        """Saved conversations newest first; ``cwd`` keeps one workspace's."""
        args = p.parse(params, "ListSessionsRequest")
        store, home = self.manager.store, self.home
        listed: dict[str, Any] = await anyio.to_thread.run_sync(
            list_sessions, store, args.cwd, args.cursor, home
        )
        return listed

    async def session_close(self, params: Any) -> dict[str, Any]:
        """Cancel its turn, save, free it; it can be loaded or resumed again."""
        args = p.parse(params, "CloseSessionRequest")
        self.connection.detach(args.session_id)
        await self.manager.close(args.session_id)
        return {}

    async def session_delete(self, params: Any) -> dict[str, Any]:
        """Forget the conversation; deleting one already gone is not an error."""
        args = p.parse(params, "DeleteSessionRequest")
        self.connection.detach(args.session_id)
        try:
            await self.manager.delete(args.session_id)
        except SnapshotNotFound:
            pass
        return {}

    async def session_cancel(self, params: Any) -> None:
        """Stop the running turn; its ``session/prompt`` answers stopReason cancelled."""
        args = p.parse(params, "CancelNotification")
        await self.manager.cancel(args.session_id)

    async def _reattach(self, args: Any) -> Session:
        servers = client_servers(args.mcp_servers)
        additional = checked_directories(args.additional_directories)
        session, cwd = await self.manager.get(args.session_id), args.cwd
        await keep_roots(self.manager, session, checked_cwd(cwd), additional)
        self._bind(session, cwd, additional, servers)
        return session

    def _bind(
        self,
        session: Session,
        cwd: str | None,
        additional: Sequence[str],
        servers: Sequence[McpServerSettings] = (),
    ) -> None:
        """Stream the session's updates to this client; it answers approvals and serves
        the file tools, confined to ``cwd`` and ``additional``; its MCP servers give tools."""
        self.connection.attach(session)
        self.manager.tooling.update(session.tools, self.client_tools, self.host)
        self.manager.tooling.add_client_servers(session.tools, servers)
        session.tools.clients.add(self.host)
        self.host.set_roots(session.id, [cwd, *additional] if cwd else [])

    def _prompts(self) -> dict[str, bool]:
        """What the default provider takes; a session on another provider refuses the media
        its provider does not take with -32602 naming the block."""
        accepted = self.manager.providers.get(self.manager.settings.default_provider).media_types
        return {
            "image": any(kind.startswith("image/") for kind in accepted),
            "audio": any(kind.startswith("audio/") for kind in accepted),
            "embeddedContext": True,
        }

    async def _options(self, session: Session, *, refresh: bool = False) -> list[dict[str, Any]]:
        """Which providers are usable is asked once per client (each asks for its key), and
        again when the client changes an option."""
        if self._providers is None or refresh:
            self._providers = await self.manager.providers.describe()
        return config_options(session, self._providers)


AGENT_CAPABILITIES: dict[str, Any] = {
    "loadSession": True,
    "mcpCapabilities": {"http": True, "sse": False},
    "sessionCapabilities": {
        "list": {},
        "resume": {},
        "close": {},
        "delete": {},
        "additionalDirectories": {},
    },
}
"""The client's MCP servers over stdio and streamable HTTP; ``promptCapabilities`` are the
default provider's (``_prompts``)."""
