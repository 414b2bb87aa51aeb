"""Building a Session: from ``chat/new``'s params, or from a snapshot being resumed or restored.

What a session is made of (its provider, tools, fallback chain, workspace) is decided here;
the manager keeps the live set.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypedDict, Unpack

from chatd.config import Settings
from chatd.core.fallback import SNAPSHOT_KEY, FallbackChain, chain_for
from chatd.core.providers import ProviderPool
from chatd.core.providers.base import Conversation, Provider, Usage
from chatd.core.session import Session
from chatd.core.store.base import Snapshot, ToolSpec
from chatd.core.tools.host import ToolHost
from chatd.core.tools.service import WORKSPACE_KEY, ToolService, checked_workspace


class NewSession(TypedDict, total=False):
    """What a new session may be given (``chat/new``'s params), every part optional."""

    provider: str | None
    model: str | None
    system_prompt: str
    title: str | None
    metadata: dict[str, str] | None
    ephemeral: bool
    fallback: list[str] | None
    tools: Sequence[ToolSpec] | None
    host: ToolHost | None
    mcp_servers: Sequence[str] | None
    workspace: str | None


class SessionBuilder:
    def __init__(self, settings: Settings, providers: ProviderPool, tooling: ToolService) -> None:
        self.settings = settings
        self.providers = providers
        self.tooling = tooling

    async def new(self, **options: Unpack[NewSession]) -> Session:
        """``host`` runs the client ``tools``; ``workspace`` keys the stored approvals and
        roots the attachment paths.

        :raises ProviderUnavailable: unknown provider (also in ``fallback``), or its key is
            missing.
        :raises InvalidParams: a bad tool spec, MCP server name or workspace.
        """
        provider, model = options.get("provider"), options.get("model")
        system_prompt = options.get("system_prompt", "")
        metadata = options.get("metadata") or {}
        adapter = self.providers.get(provider or self.settings.default_provider)
        session_id = str(uuid.uuid4())
        where = checked_workspace(options.get("workspace"))
        session_tools = self.tooling.for_session(
            session_id, mcp_servers=options.get("mcp_servers"), workspace=where
        )
        self.tooling.update(session_tools, options.get("tools"), options.get("host"))
        await adapter.ready()
        chain = chain_for(adapter.name, self.settings.fallback, options.get("fallback"))
        for name in chain.providers:
            self.providers.get(name)
        conversation = Conversation(
            model=model or adapter.model,
            system_prompt=system_prompt,
            history=adapter.start_history(system_prompt),
            tools=session_tools.specs(),
        )
        session = Session(
            session_id=session_id,
            provider=adapter,
            conversation=conversation,
            tools=session_tools,
            created_at=datetime.now(UTC),
            title=options.get("title"),
            metadata={**metadata, **({WORKSPACE_KEY: where} if where else {})},
            ephemeral=options.get("ephemeral", False),
            fallback=chain,
            resolve=self.providers.get,
        )
        return session

    def from_snapshot(
        self,
        snapshot: Snapshot,
        provider: Provider,
        *,
        history: list[object] | None = None,
        model: str | None = None,
        ephemeral: bool = False,
    ) -> Session:
        conversation = Conversation(
            model=model or snapshot.model or provider.model,
            system_prompt=snapshot.system_prompt,
            history=list(snapshot.messages if history is None else history),
            tools=snapshot.tools,
        )
        session = Session(
            session_id=snapshot.id,
            provider=provider,
            conversation=conversation,
            tools=self.tooling.for_snapshot(snapshot),
            created_at=snapshot.created_at,
            title=snapshot.title,
            metadata=snapshot.metadata,
            revision=snapshot.revision,
            usage=Usage.from_dict(snapshot.usage),
            ephemeral=ephemeral,
            fallback=self._chain_of(snapshot, provider),
            resolve=self.providers.get,
        )
        return session

    def _chain_of(self, snapshot: Snapshot, provider: Provider) -> FallbackChain:
        """The snapshot's chain, if it still names ``provider``; else the configured one."""
        chain = FallbackChain.from_json(snapshot.extra.get(SNAPSHOT_KEY))
        if chain is not None and provider.name in chain.providers:
            return FallbackChain(chain.providers, chain.providers.index(provider.name))
        return chain_for(provider.name, self.settings.fallback, None)
