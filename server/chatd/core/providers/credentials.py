"""API-key resolution for the HTTP providers, with where each key came from.

Order, first non-empty wins: the config's ``api_key``, the variable its ``api_key_env`` names
(both already in ``settings.api_key``), the OS keyring (service ``chatd``, user = provider
name; only if the optional ``keyring`` package is installed), then the conventional variable
(``ANTHROPIC_API_KEY`` …). The source is kept so a 401 can say which key was rejected without
ever showing the key itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from chatd.config import ProviderSettings, Secret
from chatd.errors import ProviderUnavailable

log = logging.getLogger(__name__)

KEYRING_SERVICE = "chatd"


@dataclass(frozen=True, slots=True)
class ApiKey:
    secret: Secret
    source: str
    """Human-readable origin, e.g. ``$OPENAI_API_KEY``; never the key."""

    def reveal(self) -> str:
        return self.secret.reveal()


def resolve_api_key(settings: ProviderSettings) -> ApiKey | None:
    """The first configured key, or None when no source has one."""
    if settings.api_key is not None and settings.api_key.reveal().strip():
        return ApiKey(_strip(settings.api_key), _configured_source(settings))
    from_keyring = _keyring_key(settings.name)
    if from_keyring is not None:
        source = f"the OS keyring (service {KEYRING_SERVICE!r}, user {settings.name!r})"
        return ApiKey(from_keyring, source)
    if settings.env_api_key is not None and settings.env_api_key.reveal().strip():
        source = f"${settings.env_api_key_var}" if settings.env_api_key_var else "the environment"
        return ApiKey(_strip(settings.env_api_key), source)
    return None


def require_api_key(settings: ProviderSettings) -> ApiKey:
    """:raises ProviderUnavailable: naming the variables (or keyring entry) to set."""
    key = resolve_api_key(settings)
    if key is not None:
        return key
    variables = " or ".join(f"${name}" for name in settings.key_variables())
    where = f"set {variables}, " if variables else ""
    raise ProviderUnavailable(
        f"{settings.name}: no API key; {where}set api_key_env or api_key in "
        f"[providers.{settings.name}], or store one in the OS keyring "
        f"(service {KEYRING_SERVICE!r}, user {settings.name!r})",
        provider=settings.name,
    )


def _configured_source(settings: ProviderSettings) -> str:
    if settings.api_key_source and settings.api_key_source != "config":
        return f"${settings.api_key_source}"
    return f"api_key in [providers.{settings.name}]"


def _strip(secret: Secret) -> Secret:
    value = secret.reveal()
    return secret if value == value.strip() else Secret(value.strip())


def _keyring_key(username: str) -> Secret | None:
    """The keyring's entry, or None: no package, no backend, or no entry are all "absent"."""
    try:
        import keyring
    except ImportError:
        return None
    try:
        value = keyring.get_password(KEYRING_SERVICE, username)
    except Exception as exc:  # a locked or missing backend must not stop the daemon
        log.debug("keyring lookup for %s failed: %s", username, type(exc).__name__)
        return None
    if not isinstance(value, str) or not value.strip():
        return None
    return Secret(value.strip())
