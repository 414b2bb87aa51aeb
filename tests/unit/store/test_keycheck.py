"""The key check: a store under one key is never written to without it, nor under another."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chatd.core.store import FileStore
from chatd.core.store.crypto import Envelope
from chatd.core.store.filestore import STATE_DIR
from chatd.core.store.keycheck import KEYCHECK_NAME
from chatd.core.store.reencrypt import Reencryption
from chatd.errors import EncryptedWithoutKey, NotEncrypted, WrongKey

from .conftest import KEY, OTHER_KEY, make_snapshot


def files(store_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(store_dir.glob("*.json"))}


def test_the_first_encrypted_save_records_an_identifier_not_the_key(store_dir: Path) -> None:
    FileStore(store_dir, KEY).save(make_snapshot())
    recorded = (store_dir / STATE_DIR / KEYCHECK_NAME).read_bytes()
    assert KEY not in recorded and KEY.hex().encode() not in recorded
    assert b'"key_id"' in recorded


@pytest.mark.parametrize(("key", "error"), [(None, EncryptedWithoutKey), (OTHER_KEY, WrongKey)])
def test_no_key_or_another_key_writes_nothing(
    store_dir: Path, key: bytes | None, error: type[Exception]
) -> None:
    saved = FileStore(store_dir, KEY).save(make_snapshot())
    before = files(store_dir)
    intruder = FileStore(store_dir, key)
    with pytest.raises(error, match="CHATD_STORE_KEY"):
        intruder.check_key()
    with pytest.raises(error):
        intruder.save(make_snapshot())
    with pytest.raises(error):
        intruder.save(saved)
    intruder.list()  # listing works (as problems) and writes no index under the wrong key
    assert files(store_dir) == before
    owner = FileStore(store_dir, KEY)
    assert owner.load(saved.id).messages == saved.messages
    assert owner.list().problems == []


def test_a_plaintext_store_meeting_a_key_asks_for_encrypt(store_dir: Path) -> None:
    saved = FileStore(store_dir).save(make_snapshot())
    keyed = FileStore(store_dir, KEY)
    with pytest.raises(NotEncrypted, match="chatd store encrypt"):
        keyed.save(make_snapshot())
    assert list(files(store_dir)) == [f"{saved.id}.json"]
    run = Reencryption(store_dir, old_key=None, new_key=KEY)
    for path in run.start():
        run.convert(path)
    run.finish()
    keyed = FileStore(store_dir, KEY)
    keyed.save(make_snapshot())
    with pytest.raises(EncryptedWithoutKey):
        FileStore(store_dir).save(make_snapshot())


def test_a_mixed_store_is_reported_and_fixed_by_encrypt(store_dir: Path) -> None:
    """A store mixed before the key check existed: plaintext beside encrypted files."""
    sealed = FileStore(store_dir, KEY).save(make_snapshot())
    (store_dir / STATE_DIR / KEYCHECK_NAME).unlink()
    plain = FileStore(store_dir / "x").save(make_snapshot())
    os.replace(store_dir / "x" / f"{plain.id}.json", store_dir / f"{plain.id}.json")
    keyed = FileStore(store_dir, KEY)
    assert [p.reason for p in keyed.list().problems] == ["not_encrypted"]
    with pytest.raises(NotEncrypted):
        keyed.check_key()
    run = Reencryption(store_dir, old_key=None, new_key=KEY)
    assert sum(run.convert(path) for path in run.start()) == 1
    run.finish()
    fixed = FileStore(store_dir, KEY)
    assert {item.id for item in fixed.list().items} == {sealed.id, plain.id}
    assert fixed.list().problems == []
    fixed.check_key()


def test_an_encrypted_store_without_a_key_check_is_judged_by_its_files(store_dir: Path) -> None:
    """Reference-written stores and stores of an older chatd have no key check."""
    saved = FileStore(store_dir, KEY).save(make_snapshot())
    (store_dir / STATE_DIR / KEYCHECK_NAME).unlink()
    with pytest.raises(EncryptedWithoutKey):
        FileStore(store_dir).check_key()
    with pytest.raises(WrongKey):
        FileStore(store_dir, OTHER_KEY).check_key()
    FileStore(store_dir, KEY).save(saved)  # the right key adopts the store
    assert (store_dir / STATE_DIR / KEYCHECK_NAME).exists()
    with pytest.raises(WrongKey):
        FileStore(store_dir, OTHER_KEY).save(make_snapshot())


def test_rekey_moves_the_key_check_and_runs_again_after_an_interruption(store_dir: Path) -> None:
    saved = FileStore(store_dir, KEY).save(make_snapshot())
    FileStore(store_dir, KEY).save(make_snapshot())
    interrupted = Reencryption(store_dir, old_key=KEY, new_key=OTHER_KEY)
    first, *_ = interrupted.start()
    interrupted.convert(first)
    with pytest.raises(WrongKey):  # the old key's daemon stops writing from the start
        FileStore(store_dir, KEY).save(saved)
    again = Reencryption(store_dir, old_key=KEY, new_key=OTHER_KEY)
    for path in again.start():
        again.convert(path)
    again.finish()
    for data in files(store_dir).values():
        assert Envelope(OTHER_KEY).opens(data)
    with pytest.raises(WrongKey, match="rekey"):
        Reencryption(store_dir, old_key=bytes(32), new_key=KEY).start()


def test_a_plaintext_store_without_a_key_stays_writable(store_dir: Path) -> None:
    store = FileStore(store_dir)
    saved = store.save(make_snapshot())
    store.save(saved)
    assert not (store_dir / STATE_DIR / KEYCHECK_NAME).exists()
