"""Where the store key comes from: CHATD_STORE_KEY, then the key file, then the OS keyring.

A key is 32 bytes, written as base64 (standard or URL-safe) or hex; a key file may also hold
the 32 raw bytes. A key that is configured but unusable is a ConfigError, never a quiet fall
back to a plaintext store. No key anywhere means a plaintext store. Key material never appears
in a message, a log line or a repr.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import stat
from pathlib import Path

from chatd.config import StoreSettings
from chatd.core.store.crypto import KEY_SIZE
from chatd.errors import ConfigError

KEYRING_SERVICE = "chatd"
KEYRING_USER = "store-key"

MAX_KEY_FILE_BYTES = 4096
"""A key file holds at most a line of text; anything larger is not a key file."""

_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")
"""Hex: even length. Base64 of 32 bytes is 43 characters, or 44 ending in '=': never this."""
_GENERATE_HINT = "make one with `chatd key generate`"


def resolve_key(settings: StoreSettings) -> bytes | None:
    """The configured store key, or None for a plaintext store.

    :raises ConfigError: a key source is set but unusable.
    """
    if settings.key is not None:
        return parse_key(settings.key.reveal(), source="CHATD_STORE_KEY")
    if settings.key_file is not None:
        return read_key_file(settings.key_file)
    if settings.use_keyring:
        return _keyring_key()
    return None


def generate_key() -> bytes:
    return os.urandom(KEY_SIZE)


def format_key(key: bytes) -> str:
    """The text form ``chatd key generate`` prints and writes: standard base64."""
    return base64.b64encode(key).decode("ascii")


def parse_key(text: str, *, source: str) -> bytes:
    """A key from its text form: hex, or base64 (standard or URL-safe, padded or not).

    :raises ConfigError: neither, or not 32 bytes; ``source`` names where it came from.
    """
    text = text.strip()
    if _HEX.fullmatch(text):
        key = bytes.fromhex(text)
    else:
        altchars = b"-_" if ("-" in text or "_" in text) else b"+/"
        try:
            key = base64.b64decode(text + "=" * (-len(text) % 4), altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(
                f"{source} is neither base64 nor hex; it must hold a {KEY_SIZE}-byte key "
                f"({_GENERATE_HINT})"
            ) from None
    if len(key) != KEY_SIZE:
        raise ConfigError(
            f"{source} holds a {len(key)}-byte key; the store key must be {KEY_SIZE} bytes "
            f"({_GENERATE_HINT})"
        )
    return key


def read_key_file(path: Path) -> bytes:
    """The key in ``path``, which must be private to this user (mode 0600 or stricter).

    :raises ConfigError: missing, unreadable, readable by others, not ours, or not a key.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ConfigError(f"key file {path} does not exist ({_GENERATE_HINT} --output)") from None
    except OSError as exc:
        raise ConfigError(f"cannot read key file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        mode = stat.S_IMODE(info.st_mode)
        if info.st_uid != os.getuid():
            raise ConfigError(
                f"key file {path} belongs to uid {info.st_uid}, not to you (uid {os.getuid()}); "
                "refusing it"
            )
        if mode & 0o077:
            raise ConfigError(
                f"key file {path} has mode {mode:04o}, so other users may read it; refusing it. "
                f"Restrict it with: chmod 600 {path}"
            )
        data = handle.read(MAX_KEY_FILE_BYTES + 1)
    if len(data) == KEY_SIZE:
        return data
    if not data.strip() or len(data) > MAX_KEY_FILE_BYTES:
        raise ConfigError(f"key file {path} holds no key ({_GENERATE_HINT} --output {path})")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise ConfigError(
            f"key file {path} must hold the key as base64 or hex text, or exactly {KEY_SIZE} "
            "raw bytes"
        ) from None
    return parse_key(text, source=f"key file {path}")


def _keyring_key() -> bytes:
    try:
        import keyring
        import keyring.errors
    except ImportError:
        raise ConfigError(
            "store.keyring is on, but the keyring package is not installed: "
            "pip install 'chatd[keyring]'"
        ) from None
    try:
        text = keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
    except keyring.errors.KeyringError as exc:
        raise ConfigError(f"cannot read the store key from the OS keyring: {exc}") from None
    if not text:
        raise ConfigError(
            f"store.keyring is on, but the OS keyring has no key for service "
            f"{KEYRING_SERVICE!r}, user {KEYRING_USER!r}; store one with: "
            f"keyring set {KEYRING_SERVICE} {KEYRING_USER}"
        )
    return parse_key(text, source="the OS keyring entry")


def write_key_file(path: Path, key: bytes) -> None:
    """Write ``key`` as base64 text to a new file of mode 0600.

    :raises FileExistsError: never overwrite a key: the conversations sealed with it would be lost.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(format_key(key) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
