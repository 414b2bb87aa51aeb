"""The envelope: tampering and wrong keys fail closed, mode mismatches say what to do."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from chatd.core.store import FileStore
from chatd.core.store.crypto import Envelope
from chatd.errors import (
    ConfigError,
    DecryptionFailed,
    EncryptedWithoutKey,
    NotEncrypted,
)

from .conftest import KEY, OTHER_KEY, make_snapshot


def saved_file(store: FileStore) -> tuple[str, Path]:
    snapshot = store.save(make_snapshot())
    return snapshot.id, store.directory / f"{snapshot.id}.json"


def test_a_wrong_key_fails_decryption(encrypted_store: FileStore) -> None:
    snapshot_id, _ = saved_file(encrypted_store)
    with pytest.raises(DecryptionFailed, match="wrong key or tampered file"):
        FileStore(encrypted_store.directory, OTHER_KEY).load(snapshot_id)


def test_a_truncated_file_fails_decryption(encrypted_store: FileStore) -> None:
    snapshot_id, path = saved_file(encrypted_store)
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(DecryptionFailed):
        encrypted_store.load(snapshot_id)


def test_a_plain_store_names_the_key_settings_for_an_encrypted_file(
    encrypted_store: FileStore,
) -> None:
    snapshot_id, path = saved_file(encrypted_store)
    with pytest.raises(EncryptedWithoutKey) as caught:
        FileStore(encrypted_store.directory).load(snapshot_id)
    assert caught.value.message == (
        f"conversation file {path} is encrypted: configure the store key "
        "(CHATD_STORE_KEY, CHATD_STORE_KEY_FILE or store.key_file)"
    )
    assert isinstance(caught.value, DecryptionFailed)


def test_an_encrypted_store_says_a_plain_file_is_not_encrypted(plain_store: FileStore) -> None:
    snapshot_id, path = saved_file(plain_store)
    with pytest.raises(NotEncrypted) as caught:
        FileStore(plain_store.directory, KEY).load(snapshot_id)
    assert (
        caught.value.message
        == f"conversation file {path} is not encrypted: run `chatd store encrypt`"
    )


def test_every_write_draws_a_fresh_nonce(encrypted_store: FileStore) -> None:
    snapshot = encrypted_store.save(make_snapshot())
    path = encrypted_store.directory / f"{snapshot.id}.json"
    first = path.read_bytes()[:12]
    encrypted_store.save(snapshot)
    assert path.read_bytes()[:12] != first


def test_sealed_content_does_not_show_the_plaintext(encrypted_store: FileStore) -> None:
    _, path = saved_file(encrypted_store)
    assert encrypted_store.list().items[0].title == "Greeting"
    assert b"Greeting" not in path.read_bytes()
    for name in ("index", "recent"):
        assert b"Greeting" not in (encrypted_store.directory / ".chatd" / name).read_bytes()


@pytest.mark.parametrize("length", [0, 16, 31, 33])
def test_keys_of_the_wrong_length_are_refused_never_plaintext(length: int, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="32 bytes"):
        FileStore(tmp_path, bytes(length))


def test_reprs_hide_the_key(tmp_path: Path) -> None:
    texts = repr(FileStore(tmp_path, KEY)) + repr(Envelope(KEY))
    for form in (KEY.hex(), base64.b64encode(KEY).decode(), repr(KEY)):
        assert form not in texts
    assert "encrypted=True" in texts
