"""The settings fingerprint: names what changed between two processes' settings, never values."""

from __future__ import annotations

from pathlib import Path

from chatd.config import load_settings
from chatd.fingerprint import differences


def fingerprint(tmp_path: Path, config: str | None, **env: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    if config is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(config)
    variables = {"HOME": str(tmp_path), "CHATD_STORE_DIR": str(tmp_path / "store"), **env}
    return dict(load_settings(path if config is not None else None, variables).fingerprint)


def test_the_same_inputs_give_the_same_fingerprint(tmp_path: Path) -> None:
    one = fingerprint(tmp_path, "", ANTHROPIC_API_KEY="sk-one")
    assert one == fingerprint(tmp_path, "", ANTHROPIC_API_KEY="sk-one")
    assert set(one) == {"config file", "CHATD_STORE_DIR", "ANTHROPIC_API_KEY"}


def test_differences_name_inputs_set_unset_or_changed(tmp_path: Path) -> None:
    before = fingerprint(tmp_path, "", OPENAI_API_KEY="sk-a", CHATD_PROVIDER="openai")
    after = fingerprint(
        tmp_path, "[daemon]\nidle_evict_s = 5\n", OPENAI_API_KEY="sk-b", ANTHROPIC_API_KEY="k"
    )
    assert differences(before, after) == [
        "ANTHROPIC_API_KEY",
        "CHATD_PROVIDER",
        "OPENAI_API_KEY",
        "config file",
    ]


def test_values_never_appear_and_unread_variables_do_not_count(tmp_path: Path) -> None:
    secret = "sk-ant-very-secret-value"
    entries = fingerprint(
        tmp_path,
        '[providers.work]\nkind = "claude"\napi_key_env = "WORK_KEY"\n',
        WORK_KEY=secret,
        CHATD_MODEL="m",
        CHATD_CI_CACHE="/cache",
        UNRELATED="x",
    )
    assert "WORK_KEY" in entries
    assert not {"CHATD_MODEL", "CHATD_CI_CACHE", "UNRELATED"} & set(entries)
    assert all(secret not in value and len(value) == 32 for value in entries.values())
