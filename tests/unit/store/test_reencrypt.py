"""Re-encryption of a whole store: plaintext to a key, one key to another, interrupted runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatd.core.store import FileStore
from chatd.core.store.crypto import is_text
from chatd.core.store.reencrypt import Reencryption
from chatd.errors import DecryptionFailed, EncryptedWithoutKey

from .conftest import KEY, OTHER_KEY, make_snapshot
from .test_compat import REFERENCE_ID, write_media_snapshot


def run(directory: Path, old: bytes | None, new: bytes) -> tuple[int, int]:
    """(converted, skipped) of one full run."""
    job = Reencryption(directory, old_key=old, new_key=new)
    results = [job.convert(path) for path in job.start()]
    job.finish()
    return results.count(True), results.count(False)


def test_encrypt_a_plain_store_with_media(store_dir: Path) -> None:
    blob = "QUJD" * 300
    digest = write_media_snapshot(store_dir, None, blob)
    saved = [FileStore(store_dir).save(make_snapshot()) for _ in range(3)]
    FileStore(store_dir).list()
    assert run(store_dir, None, KEY) == (5, 0)
    for path in [
        *store_dir.glob("*.json"),
        store_dir / "media" / digest,
        store_dir / ".chatd" / "index",
    ]:
        assert not is_text(path.read_bytes()), path  # ciphertext, not a plain file
    keyed = FileStore(store_dir, KEY)
    assert keyed.load(REFERENCE_ID).messages[0]["parts"][1]["inlineData"]["data"] == blob
    page = keyed.list()
    assert sorted(item.id for item in page.items) == sorted([REFERENCE_ID, *(s.id for s in saved)])
    assert page.problems == []
    with pytest.raises(EncryptedWithoutKey):
        FileStore(store_dir).load(saved[0].id)


def test_running_again_skips_what_is_done(store_dir: Path) -> None:
    for _ in range(4):
        FileStore(store_dir).save(make_snapshot())
    job = Reencryption(store_dir, old_key=None, new_key=KEY)
    files = job.start()
    job.convert(files[0])
    job.convert(files[1])  # interrupted here
    assert run(store_dir, None, KEY) == (2, 2)
    assert run(store_dir, None, KEY) == (0, 4)
    assert len(FileStore(store_dir, KEY).list().items) == 4


def test_rekey_moves_everything_to_the_new_key(store_dir: Path) -> None:
    saved = FileStore(store_dir, KEY).save(make_snapshot())
    assert run(store_dir, KEY, OTHER_KEY) == (1, 0)
    assert FileStore(store_dir, OTHER_KEY).load(saved.id) == saved
    with pytest.raises(DecryptionFailed):
        FileStore(store_dir, KEY).load(saved.id)


def test_files_the_old_key_cannot_open_are_reported_and_left(store_dir: Path) -> None:
    saved = FileStore(store_dir, OTHER_KEY).save(make_snapshot())
    path = store_dir / f"{saved.id}.json"
    before = path.read_bytes()
    job = Reencryption(store_dir, old_key=KEY, new_key=bytes(32))
    with pytest.raises(DecryptionFailed):
        job.convert(job.start()[0])
    assert path.read_bytes() == before


def test_other_files_are_not_touched(store_dir: Path) -> None:
    FileStore(store_dir).save(make_snapshot())
    (store_dir / "notes.json").write_text(json.dumps({"mine": True}))
    run(store_dir, None, KEY)
    assert json.loads((store_dir / "notes.json").read_text()) == {"mine": True}


def test_a_missing_store_has_nothing_to_do(store_dir: Path) -> None:
    job = Reencryption(store_dir, old_key=None, new_key=KEY)
    assert job.start() == []
    job.finish()
    assert not store_dir.exists()
