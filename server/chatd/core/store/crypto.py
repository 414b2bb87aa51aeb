"""The file envelope: AES-256-GCM ``nonce(12) ‖ ciphertext ‖ tag(16)``, byte-compatible with the
reference, or the plain bytes when the store has no key.

The reference has no header, so a file does not say whether it is encrypted. Opening a file in
the wrong mode is recognised here (plain text where ciphertext was expected, or the reverse)
and reported as such, instead of as a JSON or GCM error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chatd.errors import ConfigError, DecryptionFailed, EncryptedWithoutKey, NotEncrypted

KEY_SIZE = 32
"""AES-256, as the reference requires."""

NONCE_SIZE = 12
"""GCM's standard nonce; cryptography accepts other lengths, the reference does not."""

TAG_SIZE = 16

KEY_SOURCES = "CHATD_STORE_KEY, CHATD_STORE_KEY_FILE or store.key_file"

_JSON_OBJECT_START = re.compile(rb"[ \t\r\n]*\{")

PlainCheck = Callable[[bytes], bool]
"""Tells whether bytes read from a file are plain content of the expected kind."""


def is_json_text(data: bytes) -> bool:
    """Plain snapshot or index content: UTF-8 text starting with ``{``."""
    return _JSON_OBJECT_START.match(data) is not None and is_text(data)


def is_text(data: bytes) -> bool:
    """Plain media content (base64 or a data URI): UTF-8 text. Ciphertext practically never is."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class Envelope:
    """Seals and opens file contents with the store key, or passes them through without one."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes | None) -> None:
        """:raises ConfigError: a key that is not 32 bytes (an empty one too: never plaintext)."""
        if key is not None and len(key) != KEY_SIZE:
            raise ConfigError(f"the store key must be {KEY_SIZE} bytes, got {len(key)}")
        self._aead = None if key is None else AESGCM(key)

    def __repr__(self) -> str:
        return f"Envelope(encrypted={self.encrypted})"

    @property
    def encrypted(self) -> bool:
        return self._aead is not None

    def seal(self, plaintext: bytes) -> bytes:
        if self._aead is None:
            return plaintext
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, plaintext, None)

    def opens(self, data: bytes) -> bool:
        """Whether ``data`` was sealed with this envelope's key."""
        return self._aead is not None and _decrypt(self._aead, data) is not None

    def open(self, data: bytes, *, what: str, is_plain: PlainCheck) -> bytes:
        """The plain content of ``data``, read from the file described by ``what``.

        :raises EncryptedWithoutKey: encrypted content, and this store has no key.
        :raises NotEncrypted: plain content, and this store is encrypted.
        :raises DecryptionFailed: wrong key or tampered file.
        """
        if self._aead is None:
            if is_plain(data):
                return data
            raise EncryptedWithoutKey(
                f"{what} is encrypted: configure the store key ({KEY_SOURCES})"
            )
        plaintext = _decrypt(self._aead, data)
        if plaintext is not None:
            return plaintext
        if is_plain(data):
            raise NotEncrypted(f"{what} is not encrypted: run `chatd store encrypt`")
        raise DecryptionFailed(f"cannot decrypt {what}: wrong key or tampered file")


def _decrypt(aead: AESGCM, data: bytes) -> bytes | None:
    if len(data) < NONCE_SIZE + TAG_SIZE:
        return None
    view = memoryview(data)
    try:
        return aead.decrypt(view[:NONCE_SIZE], view[NONCE_SIZE:], None)
    except InvalidTag:
        return None
