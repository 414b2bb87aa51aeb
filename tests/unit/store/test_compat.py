"""Compatibility with the reference (go-tool-base chat): files it writes load here, and files
written here have its layout. The vectors are built byte by byte as the reference writes them."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chatd.core.store import FileStore
from chatd.core.store.base import ToolSpec
from chatd.errors import CorruptSnapshot

from .conftest import KEY, make_snapshot

REFERENCE_ID = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"

# json.MarshalIndent(snapshot, "", "  ") of the reference: keys in struct order, two-space
# indent, HTML characters escaped, no trailing newline, nanosecond time, version 1.
REFERENCE_FILE = """{
  "id": "0a1b2c3d-4e5f-6789-abcd-ef0123456789",
  "provider": "claude",
  "model": "claude-sonnet-4-5",
  "system_prompt": "You are terse.",
  "messages": [
    {
      "content": [
        {
          "text": "Is 2 \\u003c 3 \\u0026 é?",
          "type": "text"
        }
      ],
      "role": "user"
    },
    {
      "content": [
        {
          "text": "Yes.",
          "type": "text"
        }
      ],
      "role": "assistant"
    }
  ],
  "tools": [
    {
      "name": "calculator",
      "description": "Adds numbers",
      "parameters": {
        "properties": {
          "a": {
            "type": "number"
          }
        },
        "type": "object"
      }
    }
  ],
  "metadata": {
    "project": "chatd"
  },
  "created_at": "2026-03-26T10:00:00.123456789Z",
  "version": 1
}""".encode()

FIXED_NONCE = bytes.fromhex("000102030405060708090a0b")


def reference_encrypt(key: bytes, nonce: bytes, plaintext: bytes) -> bytes:
    """gcm.Seal(nonce, nonce, plaintext, nil): nonce ‖ ciphertext ‖ tag."""
    return nonce + AESGCM(key).encrypt(nonce, plaintext, None)


def check_reference_snapshot(store: FileStore) -> None:
    snapshot = store.load(REFERENCE_ID)
    assert snapshot.provider == "claude"
    assert snapshot.model == "claude-sonnet-4-5"
    assert snapshot.system_prompt == "You are terse."
    assert snapshot.messages[0]["content"][0]["text"] == "Is 2 < 3 & é?"
    assert snapshot.messages[1] == {
        "content": [{"text": "Yes.", "type": "text"}],
        "role": "assistant",
    }
    assert snapshot.tools == (
        ToolSpec(
            name="calculator",
            description="Adds numbers",
            parameters={"properties": {"a": {"type": "number"}}, "type": "object"},
        ),
    )
    assert snapshot.metadata == {"project": "chatd"}
    assert snapshot.created_at == datetime(2026, 3, 26, 10, 0, 0, 123456, UTC)
    assert snapshot.updated_at == snapshot.created_at
    assert snapshot.revision == 1
    assert snapshot.extra == {}
    summary = store.list().items
    assert [(item.id, item.revision, item.message_count) for item in summary] == [
        (REFERENCE_ID, 1, 2)
    ]


def test_a_plain_reference_file_loads(store_dir: Path) -> None:
    store_dir.mkdir()
    (store_dir / f"{REFERENCE_ID}.json").write_bytes(REFERENCE_FILE)
    check_reference_snapshot(FileStore(store_dir))


def test_an_encrypted_reference_file_loads(store_dir: Path) -> None:
    store_dir.mkdir()
    sealed = reference_encrypt(KEY, FIXED_NONCE, REFERENCE_FILE)
    assert len(sealed) == 12 + len(REFERENCE_FILE) + 16
    (store_dir / f"{REFERENCE_ID}.json").write_bytes(sealed)
    check_reference_snapshot(FileStore(store_dir, KEY))


def test_a_reference_file_saves_as_its_next_revision(store_dir: Path) -> None:
    store_dir.mkdir()
    (store_dir / f"{REFERENCE_ID}.json").write_bytes(REFERENCE_FILE)
    store = FileStore(store_dir)
    saved = store.save(store.load(REFERENCE_ID))
    assert saved.revision == 2
    assert store.load(REFERENCE_ID) == saved


def test_our_encrypted_file_is_nonce_ciphertext_tag(encrypted_store: FileStore) -> None:
    saved = encrypted_store.save(make_snapshot())
    data = (encrypted_store.directory / f"{saved.id}.json").read_bytes()
    plaintext = AESGCM(KEY).decrypt(data[:12], data[12:], None)
    assert len(data) == 12 + len(plaintext) + 16
    assert json.loads(plaintext)["id"] == saved.id


def test_our_files_have_what_the_reference_reads(store: FileStore) -> None:
    saved = store.save(make_snapshot())
    data = (store.directory / f"{saved.id}.json").read_bytes()
    if store.encrypted:
        data = AESGCM(KEY).decrypt(data[:12], data[12:], None)
    doc = json.loads(data)
    assert doc["id"] == saved.id
    assert isinstance(doc["messages"], list)
    assert doc["tools"] == [
        {"name": "lookup", "description": "Look up", "parameters": {"type": "object"}}
    ]
    assert doc["metadata"] == {"project": "chatd"}
    assert doc["created_at"].endswith("Z")
    assert isinstance(doc["version"], int)


def test_plain_files_are_pretty_printed(plain_store: FileStore) -> None:
    saved = plain_store.save(make_snapshot())
    text = (plain_store.directory / f"{saved.id}.json").read_text()
    assert text.startswith('{\n  "id": "')
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False)


def media_reference(content: str) -> tuple[str, str]:
    digest = hashlib.sha256(content.encode()).hexdigest()
    return digest, f"chatmedia+sha256:{digest}"


def write_media_snapshot(store_dir: Path, key: bytes | None, blob: str) -> str:
    """A reference snapshot whose image data was moved to media/, as the reference does."""
    digest, reference = media_reference(blob)
    messages = [
        {
            "role": "user",
            "parts": [
                {"text": "describe this"},
                {"inlineData": {"mimeType": "image/png", "data": reference}},
                {"text": "chatmedia+sha256:not-a-hash"},
            ],
        }
    ]
    doc = {
        "id": REFERENCE_ID,
        "provider": "gemini",
        "model": "gemini-2.5-flash",
        "messages": messages,
        "created_at": "2026-03-26T10:00:00Z",
        "version": 1,
    }
    (store_dir / "media").mkdir(parents=True)
    seal = (
        (lambda data: data)
        if key is None
        else (lambda data: reference_encrypt(key, FIXED_NONCE, data))
    )
    (store_dir / "media" / digest).write_bytes(seal(blob.encode()))
    (store_dir / f"{REFERENCE_ID}.json").write_bytes(seal(json.dumps(doc, indent=2).encode()))
    return digest


@pytest.mark.parametrize("key", [None, KEY])
def test_media_references_resolve_on_load(store_dir: Path, key: bytes | None) -> None:
    blob = "iVBORw0KGgo" + "A" * 600
    write_media_snapshot(store_dir, key, blob)
    parts = FileStore(store_dir, key).load(REFERENCE_ID).messages[0]["parts"]
    assert parts[1]["inlineData"]["data"] == blob
    assert parts[2]["text"] == "chatmedia+sha256:not-a-hash"  # user text, not a reference


def test_a_missing_media_blob_is_corrupt_naming_the_hash(store_dir: Path) -> None:
    digest = write_media_snapshot(store_dir, None, "QUJD" * 200)
    (store_dir / "media" / digest).unlink()
    with pytest.raises(CorruptSnapshot, match=digest):
        FileStore(store_dir).load(REFERENCE_ID)


def test_a_damaged_media_blob_is_corrupt(store_dir: Path) -> None:
    digest = write_media_snapshot(store_dir, None, "QUJD" * 200)
    (store_dir / "media" / digest).write_bytes(b"QUJD" * 100)
    with pytest.raises(CorruptSnapshot, match="does not match its hash"):
        FileStore(store_dir).load(REFERENCE_ID)
