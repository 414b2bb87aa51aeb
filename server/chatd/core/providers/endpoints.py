"""Base-URL validation, run before any credential is sent to an endpoint.

Rules, cheapest first: at most ``MAX_BASE_URL_LENGTH`` characters; no control characters
(C0, DEL and C1); parseable; no userinfo (``user:pass@``); a host; not a placeholder host;
``https``, or plain ``http`` only to a loopback host so a local Ollama or llama.cpp works.
Messages never echo the URL: it may hold a token in its path or query.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from chatd.errors import ProviderUnavailable
from chatd.loopback import is_loopback

MAX_BASE_URL_LENGTH = 2048
"""Longer than any real endpoint; bounds what we parse and what a typo can smuggle in."""

PLACEHOLDER_DOMAINS = ("example.com", "example.net", "example.org", "localhost.localdomain")
"""Documentation hosts (RFC 2606) copied from a sample config; subdomains included."""

PLACEHOLDER_TLDS = ("example", "invalid")
"""Reserved top-level names that never resolve (RFC 2606). ``.test`` stays allowed: local
DNS setups use it for real test endpoints (with https)."""


def validate_base_url(url: str, *, provider: str) -> str:
    """The URL unchanged, or ProviderUnavailable naming the broken rule.

    :raises ProviderUnavailable:
    """

    def reject(why: str) -> ProviderUnavailable:
        return ProviderUnavailable(f"{provider}: base_url {why}", provider=provider)

    if len(url) > MAX_BASE_URL_LENGTH:
        raise reject(f"is longer than {MAX_BASE_URL_LENGTH} characters")
    if any(unicodedata.category(char) == "Cc" for char in url):
        raise reject("contains control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port validates it
    except ValueError:
        raise reject("is not a valid URL") from None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise reject("must not contain credentials (user:password@); configure api_key instead")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise reject("has no host")
    if _is_placeholder(host):
        raise reject(f"points at the placeholder host {host!r}; set the real endpoint")
    scheme = parts.scheme.lower()
    if scheme == "http" and not is_loopback(host):
        raise reject("must use https; plain http is allowed only to localhost, 127.0.0.0/8, ::1")
    if scheme not in ("http", "https"):
        raise reject("must be an https:// URL")
    return url


def _is_placeholder(host: str) -> bool:
    if any(host == domain or host.endswith("." + domain) for domain in PLACEHOLDER_DOMAINS):
        return True
    return host.rsplit(".", 1)[-1] in PLACEHOLDER_TLDS
