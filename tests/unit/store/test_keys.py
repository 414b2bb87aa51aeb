"""Key resolution: CHATD_STORE_KEY, then the key file, then the keyring; never silently plain."""

from __future__ import annotations

import base64
import os
import sys
import types
from pathlib import Path

import pytest

from chatd.config import Secret, StoreSettings
from chatd.core.store import open_store
from chatd.core.store.keys import (
    format_key,
    generate_key,
    parse_key,
    read_key_file,
    resolve_key,
    write_key_file,
)
from chatd.errors import ConfigError

from .conftest import KEY, OTHER_KEY


def settings(tmp_path: Path, **fields: object) -> StoreSettings:
    return StoreSettings(dir=tmp_path / "store", **fields)  # type: ignore[arg-type]


def key_file(tmp_path: Path, content: bytes, mode: int = 0o600) -> Path:
    path = tmp_path / "store.key"
    path.write_bytes(content)
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize(
    "text",
    [
        base64.b64encode(KEY).decode(),
        base64.urlsafe_b64encode(KEY).decode(),
        base64.urlsafe_b64encode(KEY).decode().rstrip("="),
        KEY.hex(),
        KEY.hex().upper(),
        f"  {KEY.hex()}\n",
    ],
)
def test_key_text_forms(text: str) -> None:
    assert parse_key(text, source="test") == KEY


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "0-byte"),
        ("   ", "0-byte"),
        (base64.b64encode(bytes(16)).decode(), "16-byte"),
        (base64.b64encode(bytes(31)).decode(), "31-byte"),
        (bytes(33).hex(), "33-byte"),
        ("not a key!", "neither base64 nor hex"),
        ("your-32-byte-encryption-key-here", "24-byte"),
    ],
)
def test_bad_key_text_is_a_config_error_without_the_text(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        parse_key(text, source="CHATD_STORE_KEY")
    assert "CHATD_STORE_KEY" in caught.value.message
    if text.strip():
        assert text.strip() not in caught.value.message


def test_no_key_anywhere_means_plaintext(tmp_path: Path) -> None:
    assert resolve_key(settings(tmp_path)) is None
    assert not open_store(settings(tmp_path)).encrypted


def test_the_environment_key_wins_over_the_file(tmp_path: Path) -> None:
    resolved = resolve_key(
        settings(tmp_path, key=Secret(KEY.hex()), key_file=tmp_path / "missing.key")
    )
    assert resolved == KEY
    assert open_store(settings(tmp_path, key=Secret(KEY.hex()))).encrypted


@pytest.mark.parametrize(
    "content", [base64.b64encode(OTHER_KEY) + b"\n", OTHER_KEY.hex().encode(), OTHER_KEY]
)
@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_key_files_hold_text_or_raw_bytes(tmp_path: Path, content: bytes, mode: int) -> None:
    path = key_file(tmp_path, content, mode)
    assert resolve_key(settings(tmp_path, key_file=path)) == OTHER_KEY


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_key_files_others_may_read_are_refused(tmp_path: Path, mode: int) -> None:
    path = key_file(tmp_path, base64.b64encode(KEY), mode)
    with pytest.raises(ConfigError) as caught:
        read_key_file(path)
    message = caught.value.message
    assert str(path) in message and f"{mode:04o}" in message
    assert f"chmod 600 {path}" in message


@pytest.mark.skipif(os.getuid() != 0, reason="changing a file's owner needs root")
def test_key_files_of_another_user_are_refused(tmp_path: Path) -> None:
    path = key_file(tmp_path, base64.b64encode(KEY))
    os.chown(path, 12345, -1)
    with pytest.raises(ConfigError, match="belongs to uid 12345"):
        read_key_file(path)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "holds no key"),
        (b"\n\n", "holds no key"),
        (bytes(31), "neither base64 nor hex"),
        ("é".encode() * 20, "base64 or hex text"),
        (base64.b64encode(bytes(16)), "16-byte"),
        (b"x" * 5000, "holds no key"),
    ],
)
def test_bad_key_files_are_config_errors(tmp_path: Path, content: bytes, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        read_key_file(key_file(tmp_path, content))


def test_a_missing_key_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_key(settings(tmp_path, key_file=tmp_path / "nope.key"))


def fake_keyring(
    monkeypatch: pytest.MonkeyPatch, answer: str | None, *, fail: bool = False
) -> list[tuple[str, str]]:
    """Install a stand-in ``keyring`` module; returns the (service, user) pairs it was asked."""
    asked: list[tuple[str, str]] = []
    errors = types.ModuleType("keyring.errors")

    class KeyringError(Exception):
        pass

    def get_password(service: str, user: str) -> str | None:
        asked.append((service, user))
        if fail:
            raise KeyringError("no backend")
        return answer

    errors.KeyringError = KeyringError  # type: ignore[attr-defined]
    module = types.ModuleType("keyring")
    module.get_password = get_password  # type: ignore[attr-defined]
    module.errors = errors  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", module)
    monkeypatch.setitem(sys.modules, "keyring.errors", errors)
    return asked


def test_the_keyring_is_asked_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked = fake_keyring(monkeypatch, format_key(KEY))
    assert resolve_key(settings(tmp_path, use_keyring=True)) == KEY
    assert asked == [("chatd", "store-key")]
    path = key_file(tmp_path, OTHER_KEY)
    assert resolve_key(settings(tmp_path, use_keyring=True, key_file=path)) == OTHER_KEY
    assert len(asked) == 1


@pytest.mark.parametrize(
    ("answer", "problem"), [(None, "keyring set chatd store-key"), ("", "has no key")]
)
def test_an_empty_keyring_is_not_plaintext(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: str | None, problem: str
) -> None:
    fake_keyring(monkeypatch, answer)
    with pytest.raises(ConfigError, match=problem):
        resolve_key(settings(tmp_path, use_keyring=True))


def test_keyring_failures_are_config_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_keyring(monkeypatch, None, fail=True)
    with pytest.raises(ConfigError, match="no backend"):
        resolve_key(settings(tmp_path, use_keyring=True))


def test_without_the_keyring_package_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)
    with pytest.raises(ConfigError, match=r"pip install 'chatd\[keyring\]'"):
        resolve_key(settings(tmp_path, use_keyring=True))


def test_generated_keys_are_fresh_and_written_private(tmp_path: Path) -> None:
    first, second = generate_key(), generate_key()
    assert len(first) == 32 and first != second
    path = tmp_path / "new.key"
    write_key_file(path, first)
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_key_file(path) == first
    with pytest.raises(FileExistsError):
        write_key_file(path, second)
    assert read_key_file(path) == first
