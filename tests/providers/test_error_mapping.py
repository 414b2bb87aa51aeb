"""Every exception class each SDK (and httpx2 beneath them) exports maps to ProviderFailure."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import httpx2
import pytest

from chatd.config import ProviderSettings, Secret
from chatd.core.providers import build_provider
from chatd.core.providers.remote import RemoteProvider
from chatd.core.providers.worker import StreamWorker
from chatd.errors import ProviderFailure

REQUEST = httpx2.Request("POST", "http://127.0.0.1:9/v1/messages")
REQUEST_ERRORS = (httpx2.HTTPError, httpx2.StreamError, httpx2.InvalidURL)
"""What httpx2 can raise while sending or streaming (not e.g. cookie-jar conflicts)."""
ERROR_BODY = {"error": {"message": "bad thing", "type": "api_error", "status": "INTERNAL"}}


def _sdk_module(kind: str) -> tuple[Any, type[BaseException]]:
    if kind == "claude":
        import anthropic

        return anthropic, anthropic.AnthropicError
    if kind == "openai":
        import openai

        return openai, openai.OpenAIError
    from google.genai import errors

    return errors, Exception


def _exception_classes(module: Any, base: type[BaseException]) -> list[type[BaseException]]:
    return sorted(
        (
            value
            for value in list(vars(module).values())
            if inspect.isclass(value)
            and issubclass(value, base)
            and issubclass(value, Exception)
            and not issubclass(value, Warning)
        ),
        key=lambda cls: cls.__name__,
    )


def _status(cls: type[BaseException]) -> int:
    status = getattr(cls, "status_code", None)
    return status if isinstance(status, int) else 500


def _instance(cls: type[BaseException]) -> BaseException:
    """Build one, whatever the constructor looks like; the SDKs differ class by class."""
    status = _status(cls)
    response = httpx2.Response(
        status, request=REQUEST, json=ERROR_BODY, headers={"request-id": "r1"}
    )
    attempts: list[Callable[[], BaseException]] = [
        lambda: cls("bad thing", response=response, body=ERROR_BODY),  # type: ignore[call-arg]
        lambda: cls(response=response, body=ERROR_BODY),  # type: ignore[call-arg]
        lambda: cls(status, ERROR_BODY),  # type: ignore[call-arg]
        lambda: cls(request=REQUEST),  # type: ignore[call-arg]
        lambda: cls(REQUEST),  # type: ignore[call-arg]
        lambda: cls("bad thing", REQUEST, body=None),  # type: ignore[call-arg]
        lambda: cls(completion=SimpleNamespace(usage=None)),  # type: ignore[call-arg]
        lambda: cls("bad thing", request=REQUEST, response=response),  # type: ignore[call-arg]
        lambda: cls("bad thing", unsent_messages=[]),  # type: ignore[call-arg]
        lambda: cls("bad thing"),
        lambda: cls(),
    ]
    for attempt in attempts:
        try:
            return attempt()
        except Exception:  # noqa: S112 - the next constructor shape may fit
            continue
    raise AssertionError(f"cannot construct {cls.__name__}")


def _cases() -> Iterator[Any]:
    for kind in ("claude", "openai", "gemini"):
        module, base = _sdk_module(kind)
        for cls in _exception_classes(module, base):
            yield pytest.param(kind, cls, id=f"{kind}-{cls.__name__}")
        for cls in _exception_classes(httpx2, Exception):
            if not issubclass(cls, REQUEST_ERRORS):
                continue
            yield pytest.param(kind, cls, id=f"{kind}-httpx2.{cls.__name__}")


def _provider(kind: str) -> RemoteProvider[Any]:
    settings = ProviderSettings(name=kind, kind=kind, api_key=Secret("sk-secret"))
    provider = build_provider(settings, StreamWorker())
    provider.check_available()
    assert isinstance(provider, RemoteProvider)
    return provider


@pytest.mark.parametrize(("kind", "cls"), list(_cases()))
def test_every_sdk_exception_becomes_a_provider_failure(
    kind: str, cls: type[BaseException]
) -> None:
    error = _instance(cls)
    assert isinstance(error, Exception)

    with pytest.raises(ProviderFailure) as caught, _provider(kind).failures():
        raise error

    failure = caught.value
    assert failure.provider == kind
    assert "sk-secret" not in failure.message
    if failure.status is not None:
        assert failure.retryable is (
            failure.status in (408, 409, 425, 429, 500, 502, 503, 504, 529)
        )


def test_unrelated_exceptions_are_not_disguised_as_provider_failures() -> None:
    with pytest.raises(KeyError), _provider("claude").failures():
        raise KeyError("a bug of ours")


def test_an_api_message_echoing_the_key_is_scrubbed() -> None:
    import anthropic

    body = {"error": {"type": "invalid_request_error", "message": "bad key sk-secret given"}}
    response = httpx2.Response(400, request=REQUEST, json=body)
    with pytest.raises(ProviderFailure) as caught, _provider("claude").failures():
        raise anthropic.BadRequestError("bad key sk-secret given", response=response, body=body)
    assert "sk-secret" not in caught.value.message and "***" in caught.value.message
