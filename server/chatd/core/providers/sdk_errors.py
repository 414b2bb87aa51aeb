"""Turning SDK and transport exceptions into ``ProviderFailure``, the same way for every SDK.

Each adapter supplies a ``translate(exc)`` for its own SDK's classes; this module holds what
they share: which statuses are retryable, the wording of auth failures (naming the key's
source, never the key), scrubbing the key out of API messages, and raw ``httpx2`` errors
(genai does not wrap them, and the other SDKs let mid-stream ones through).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from chatd.core.providers.credentials import ApiKey
from chatd.errors import ChatdError, ProviderFailure

if TYPE_CHECKING:
    import httpx2

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
"""Worth trying again later: timeouts, conflicts, rate limits, overload and server errors."""

MAX_DETAIL_CHARS = 300
"""An API's error text is shown to the user, cut short so a huge HTML error page is not."""

Translate = Callable[[Exception], ProviderFailure | None]


@contextmanager
def map_sdk_errors(translate: Translate) -> Iterator[None]:
    """Re-raise what ``translate`` recognises as ``ProviderFailure``; anything else is a bug."""
    try:
        yield
    except ChatdError:
        raise
    except Exception as exc:
        failure = translate(exc)
        if failure is None:
            raise
        log.debug("%s failed: %s (status %s)", failure.provider, type(exc).__name__, failure.status)
        raise failure from None  # the SDK's exception may quote request details


def status_failure(
    provider: str,
    status: int,
    detail: str | None,
    *,
    key: ApiKey | None,
    request_id: str | None = None,
) -> ProviderFailure:
    """The failure for an HTTP error status."""
    text = scrub(detail, key)
    if status == 401:
        message = (
            f"{provider}: the API key from {key.source} was rejected (HTTP 401)"
            if key
            else f"{provider}: the endpoint requires an API key (HTTP 401); configure one"
        )
    elif status == 403:
        whose = f"the API key from {key.source}" if key else "this client"
        message = f"{provider}: {whose} is not allowed to do this (HTTP 403)"
        message += f": {text}" if text else ""
    elif status == 429:
        message = f"{provider}: rate limited or out of quota (HTTP 429)"
        message += f": {text}" if text else ""
    else:
        message = f"{provider}: HTTP {status}" + (f": {text}" if text else "")
    return ProviderFailure(
        message,
        provider=provider,
        status=status,
        retryable=status in RETRYABLE_STATUSES,
        request_id=request_id,
    )


def connection_failure(provider: str, what: str, cause: str = "network") -> ProviderFailure:
    """Nothing (or nothing complete) came back: always worth retrying."""
    return ProviderFailure(f"{provider}: {what}", provider=provider, retryable=True, cause=cause)


def malformed_failure(provider: str, what: str) -> ProviderFailure:
    return ProviderFailure(f"{provider}: unusable response: {what}", provider=provider)


def translate_transport(provider: str, exc: Exception) -> ProviderFailure | None:
    """Raw ``httpx2`` errors and streamed JSON that does not parse; None for anything else."""
    import httpx2

    if isinstance(exc, json.JSONDecodeError):
        return malformed_failure(provider, "the stream carried invalid JSON")
    if isinstance(exc, httpx2.TimeoutException):
        return connection_failure(provider, "the request timed out", "timeout")
    if isinstance(exc, httpx2.TransportError):
        return connection_failure(provider, _transport_text(exc))
    if isinstance(exc, httpx2.HTTPStatusError):
        return status_failure(provider, exc.response.status_code, None, key=None)
    if isinstance(exc, httpx2.HTTPError | httpx2.StreamError | httpx2.InvalidURL):
        return malformed_failure(provider, type(exc).__name__)
    return None


def translate_stainless(
    provider: str,
    exc: Exception,
    sdk: Any,
    *,
    base_error: type[Exception],
    key: ApiKey | None,
    detail: Callable[[Any], str | None],
) -> ProviderFailure | None:
    """The ``anthropic`` and ``openai`` SDKs share one generated exception hierarchy.

    ``sdk`` is the SDK's module and ``base_error`` the root of its exceptions; ``detail`` reads
    the API's message off a status error.
    """
    if isinstance(exc, sdk.APIStatusError):
        return status_failure(
            provider, exc.status_code, detail(exc), key=key, request_id=exc.request_id
        )
    if isinstance(exc, sdk.APITimeoutError):
        return connection_failure(provider, "the request timed out", "timeout")
    if isinstance(exc, sdk.APIConnectionError):
        return connection_failure(provider, "cannot connect to the endpoint")
    if isinstance(exc, sdk.APIResponseValidationError):
        return malformed_failure(provider, "the response did not match the API schema")
    if isinstance(exc, base_error):
        return malformed_failure(provider, type(exc).__name__)
    return translate_transport(provider, exc)


def scrub(detail: str | None, key: ApiKey | None) -> str:
    """The API's text, one line, bounded, with the key blanked should a server echo it."""
    if not detail:
        return ""
    text = " ".join(str(detail).split())
    if key is not None and key.reveal():
        text = text.replace(key.reveal(), "***")
    if len(text) > MAX_DETAIL_CHARS:
        text = text[: MAX_DETAIL_CHARS - 1] + "…"
    return text


def _transport_text(exc: httpx2.TransportError) -> str:
    import httpx2

    if isinstance(exc, httpx2.ConnectError):
        return "cannot connect to the endpoint"
    if isinstance(exc, httpx2.RemoteProtocolError):
        return "the connection broke off mid-response"
    return f"network error ({type(exc).__name__})"
