"""The fingerprint of the settings a process read: which inputs it had, never their values.

The daemon keeps the fingerprint of its start-up settings and reports it in ``daemon/status``;
the CLI computes its own and compares, so a key exported or a config edited after the daemon
started is noticed, named, and applied. Each input (the config file's content, each variable
the settings read) becomes a SHA-256 digest under its name (domain-separated, cut to 128 bits);
inputs that are not set have no entry. A digest of a high-entropy key says nothing about it,
and the daemon keeps only digests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

CONFIG_ENTRY = "config file"
"""The entry of the configuration file's content (the same file found elsewhere is no change)."""

_DOMAIN = b"chatd settings fingerprint v1\0"
_DIGEST_BYTES = 16


def _digest(name: str, value: bytes) -> str:
    data = _DOMAIN + name.encode() + b"\0" + value
    return hashlib.sha256(data).digest()[:_DIGEST_BYTES].hex()


def settings_fingerprint(
    config_content: bytes | None, env: Mapping[str, str], names: Iterable[str]
) -> dict[str, str]:
    """Digests of the config file (None: absent) and of the variables ``names`` that are set."""
    entries = {}
    if config_content is not None:
        entries[CONFIG_ENTRY] = _digest(CONFIG_ENTRY, config_content)
    for name in sorted(set(names)):
        value = env.get(name)
        if value is not None:
            entries[name] = _digest(name, value.encode("utf-8", "surrogateescape"))
    return entries


def differences(running: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """The names of the inputs that were set, unset or changed between the two fingerprints."""
    return sorted(
        name for name in running.keys() | current.keys() if running.get(name) != current.get(name)
    )
