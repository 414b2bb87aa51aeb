"""The method table: each handler checks its params, makes one core call, shapes the result."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import chatd
from chatd.core.manager import history_page
from chatd.core.session import Session
from chatd.rpc import params as p
from chatd.rpc.results import (
    PROTOCOL_VERSION,
    provider_json,
    restore_json,
    session_json,
    store_page_json,
    transcript_json,
    turn_json,
)
from chatd.rpc.tool_methods import ToolMethods

if TYPE_CHECKING:
    from chatd.rpc.server import Connection, Handler, ServerContext


class Methods:
    def __init__(self, context: ServerContext, connection: Connection) -> None:
        self.context = context
        self.manager = context.manager
        self.connection = connection
        self.tool_methods = ToolMethods(context, connection)

    def table(self) -> dict[str, Handler]:
        return {
            "initialize": self.initialize,
            "shutdown": self.shutdown,
            "daemon/stop": self.daemon_stop,
            "daemon/status": self.daemon_status,
            "chat/new": self.chat_new,
            "chat/send": self.chat_send,
            "chat/save": self.chat_save,
            "chat/restore": self.chat_restore,
            "chat/history": self.chat_history,
            "chat/cancel": self.chat_cancel,
            "chat/close": self.chat_close,
            "store/list": self.store_list,
            "store/delete": self.store_delete,
            **self.tool_methods.table(),
        }

    async def initialize(self, params: Any) -> dict[str, Any]:
        """Negotiate: who we are, which providers exist, whether the store is encrypted."""
        p.structure(params, p.InitializeParams)
        self.connection.initialized = True
        providers = await self.manager.providers.describe()
        return {
            "serverInfo": {"name": "chatd", "version": chatd.__version__},
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {
                "providers": [provider_json(info) for info in providers],
                "defaultProvider": self.manager.settings.default_provider,
                "encryption": self.context.encrypted,
            },
        }

    async def shutdown(self, params: Any) -> None:
        """Refuse further requests on this connection; ``exit`` then closes it."""
        self.connection.shutdown_requested = True

    async def daemon_stop(self, params: Any) -> None:
        """Stop the whole daemon after answering: turns cancelled, sessions saved."""
        self.context.request_stop()

    async def daemon_status(self, params: Any) -> dict[str, Any]:
        """Process-wide figures for ``chatd status``."""
        return self.context.status()

    async def chat_new(self, params: Any) -> dict[str, Any]:
        """Start a conversation; nothing is written until its first turn."""
        args = p.structure(params, p.ChatNewParams)
        host = self.connection.tool_host
        session = await self.manager.new_session(**p.as_kwargs(args), host=host)
        return self._attached(session)

    async def chat_send(self, params: Any) -> dict[str, Any]:
        """Run one turn; updates stream as ``chat/update`` before this answer."""
        args = p.structure(params, p.ChatSendParams)
        attach = self.connection.attach
        result = await self.manager.send(args.session_id, args.message, on_session=attach)
        return turn_json(result)

    async def chat_save(self, params: Any) -> dict[str, Any]:
        """Save now (autosave already does after each turn); ``fork`` saves a copy."""
        args = p.structure(params, p.ChatSaveParams)
        written = await self.manager.save(args.session_id, fork=args.fork)
        return {"snapshotId": written.id, "revision": written.revision}

    async def chat_restore(self, params: Any) -> dict[str, Any]:
        """Attach to a saved conversation, with the newest page of its history."""
        args = p.structure(params, p.ChatRestoreParams)
        restored = await self.manager.restore(
            args.snapshot_id,
            provider=args.provider,
            model=args.model,
            convert=args.convert,
            tools=args.tools,
            host=self.connection.tool_host,
            mcp_servers=args.mcp_servers,
        )
        self.connection.attach(restored.session)
        return restore_json(restored, args.history_limit)

    async def chat_history(self, params: Any) -> dict[str, Any]:
        """A page of the neutral transcript, newest page first, oldest item first."""
        args = p.structure(params, p.ChatHistoryParams)
        session = await self.manager.get(args.session_id)
        self.connection.attach(session)
        items = session.provider.transcript(session.conversation.history)
        page, cursor = history_page(items, args.cursor, args.limit)
        return {"items": [transcript_json(item) for item in page], "nextCursor": cursor}

    async def chat_cancel(self, params: Any) -> dict[str, Any]:
        """Stop the running turn; its ``chat/send`` answers with stopReason cancelled."""
        args = p.structure(params, p.SessionParams)
        return {"cancelled": await self.manager.cancel(args.session_id)}

    async def chat_close(self, params: Any) -> None:
        """Save (unless ephemeral) and free the session's memory."""
        args = p.structure(params, p.SessionParams)
        await self.manager.close(args.session_id)

    async def store_list(self, params: Any) -> dict[str, Any]:
        """Saved conversations, newest first, with unreadable files listed as problems."""
        args = p.structure(params, p.StoreListParams)
        page = await self.manager.list_snapshots(
            limit=args.limit, cursor=args.cursor, provider=args.provider
        )
        return store_page_json(page)

    async def store_delete(self, params: Any) -> None:
        """Delete a saved conversation (and drop it from memory)."""
        args = p.structure(params, p.StoreDeleteParams)
        await self.manager.delete(args.snapshot_id)

    def _attached(self, session: Session) -> dict[str, Any]:
        self.connection.attach(session)
        return session_json(session)
