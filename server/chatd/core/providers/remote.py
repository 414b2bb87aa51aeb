"""What the three HTTP adapters share: endpoint and key checks, limits, one lazy SDK client.

The client is built once per adapter on the first step (never at import or construction)
and closed in ``aclose``; it lives on the stream worker's loop, where every step runs
(``core.providers.worker``). ``check_available`` validates the base URL before any credential
is resolved for it, so a key is never sent to a malformed or placeholder endpoint.
"""

from __future__ import annotations

import gc
from abc import abstractmethod
from contextlib import AbstractContextManager
from typing import ClassVar, Generic, TypeVar

import anyio

from chatd.config import ProviderSettings
from chatd.core.providers.base import Conversation, Emit, Provider, StepResult
from chatd.core.providers.credentials import ApiKey, require_api_key, resolve_api_key
from chatd.core.providers.endpoints import validate_base_url
from chatd.core.providers.sdk_errors import map_sdk_errors
from chatd.core.providers.worker import StreamWorker
from chatd.errors import ProviderFailure

ClientT = TypeVar("ClientT")

DEFAULT_TIMEOUT_S = 300.0
"""Per network read, not per stream: a slow model streaming for ten minutes is fine, a
connection silent for five minutes is dead (the reference's bound)."""

DEFAULT_MAX_RETRIES = 2
"""The SDKs' own default: three attempts with backoff on 408/429/5xx and connection errors."""

MAX_RETRIES_CAP = 10
"""However configured, a turn never hammers a failing endpoint more than this."""

RETRY_INITIAL_DELAY_S = 0.5
RETRY_MAX_DELAY_S = 8.0
"""The Anthropic and OpenAI SDKs' backoff; genai is configured to match them."""


class RemoteProvider(Provider, Generic[ClientT]):
    default_base_url: ClassVar[str]
    default_max_tokens: ClassVar[int]
    key_required: ClassVar[bool] = True

    def __init__(self, settings: ProviderSettings, worker: StreamWorker) -> None:
        super().__init__(settings)
        self._worker = worker
        self._key: ApiKey | None = None
        self._key_resolved = False
        self._client: ClientT | None = None
        self._building = anyio.Lock()

    @property
    def base_url(self) -> str:
        return self.settings.base_url or self.default_base_url

    @property
    def max_tokens(self) -> int:
        return self.settings.max_tokens or self.default_max_tokens

    @property
    def timeout_s(self) -> float:
        return self.settings.timeout_s or DEFAULT_TIMEOUT_S

    @property
    def max_retries(self) -> int:
        configured = self.settings.max_retries
        retries = DEFAULT_MAX_RETRIES if configured is None else configured
        return max(0, min(retries, MAX_RETRIES_CAP))

    def check_available(self) -> None:
        """:raises ProviderUnavailable: bad base URL, or no key where one is required."""
        validate_base_url(self.base_url, provider=self.name)
        if not self._key_resolved:  # the keyring may be slow: ask it once per provider
            self._key = (
                require_api_key(self.settings)
                if self.key_required
                else resolve_api_key(self.settings)
            )
            self._key_resolved = True

    async def ready(self) -> None:
        """The first check may ask the OS keyring, which can wait on an unlock prompt: it
        runs in a thread; later ones only look at the URL and the cached key."""
        if self._key_resolved:
            self.check_available()
        else:
            await anyio.to_thread.run_sync(self.check_available)

    async def step(self, conversation: Conversation, emit: Emit) -> StepResult:
        return await self._worker.stream(
            lambda worker_emit: self._stream(conversation, worker_emit), emit
        )

    async def client(self) -> ClientT:
        """The SDK client, built on first use in a thread: importing an SDK takes up to a
        second and loading its CA bundle ~0.1 s, which would stall every stream."""
        if self._client is None:
            async with self._building:
                if self._client is None:
                    self.check_available()
                    self._client = await anyio.to_thread.run_sync(self._build_client, self._key)
                    gc.freeze()  # the SDK's ~100k module objects: out of every full collection
        return self._client

    def failures(self) -> AbstractContextManager[None]:
        """Wrap SDK calls: their exceptions come out as ``ProviderFailure``."""
        return map_sdk_errors(self._translate)

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await self._worker.run(lambda: self._close_client(client))

    @abstractmethod
    async def _stream(self, conversation: Conversation, emit: Emit) -> StepResult:
        """``step``, run on the worker loop; ``emit`` may be called from there."""

    @abstractmethod
    def _build_client(self, key: ApiKey | None) -> ClientT: ...

    @abstractmethod
    async def _close_client(self, client: ClientT) -> None: ...

    @abstractmethod
    def _translate(self, exc: Exception) -> ProviderFailure | None:
        """This SDK's exception as a failure; None if it is not one of the SDK's."""
