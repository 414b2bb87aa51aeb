"""``chatd store …`` and ``chatd key …`` as a user runs them: the real command in a subprocess,
isolated by its own config file and store directory."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

from chatd.core.store import FileStore
from chatd.core.store.base import Snapshot
from chatd_client import daemon_command
from tests.integration.conftest import DaemonEnv
from tests.unit.store.conftest import KEY, OTHER_KEY, make_snapshot


def chatd(env: DaemonEnv, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        daemon_command(*args),
        env=env.env(**extra),
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_fails_in_one_line(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in result.stderr


def write_key(path: Path, key: bytes, mode: int = 0o600) -> Path:
    path.write_text(base64.b64encode(key).decode() + "\n")
    os.chmod(path, mode)
    return path


def save(env: DaemonEnv, key: bytes | None = None, **fields: object) -> Snapshot:
    return FileStore(env.store_dir, key).save(make_snapshot(**fields))


def test_path_comes_from_the_environment_or_the_config(daemon_env: DaemonEnv) -> None:
    assert chatd(daemon_env, "store", "path").stdout.strip() == str(daemon_env.store_dir)
    configured = daemon_env.root / "from-config"
    daemon_env.config.write_text(f'[store]\ndir = "{configured}"\n')
    assert chatd(daemon_env, "store", "path", CHATD_STORE_DIR="").stdout.strip() == str(configured)


def test_the_environment_wins_over_the_config(daemon_env: DaemonEnv) -> None:
    daemon_env.config.write_text(f'[store]\ndir = "{daemon_env.root / "from-config"}"\n')
    assert chatd(daemon_env, "store", "path").stdout.strip() == str(daemon_env.store_dir)


def test_an_empty_store_lists_nothing_and_is_not_created(daemon_env: DaemonEnv) -> None:
    result = chatd(daemon_env, "store", "list")
    assert (result.returncode, result.stdout) == (0, "")
    assert "no saved conversations" in result.stderr
    assert not daemon_env.store_dir.exists()


def test_list_shows_a_table_newest_first(daemon_env: DaemonEnv) -> None:
    older = save(daemon_env, title="first chat")
    newer = save(daemon_env, title="second chat", provider="openai", model="gpt-test")
    result = chatd(daemon_env, "store", "list")
    assert result.returncode == 0, result.stderr
    header, first, second = result.stdout.splitlines()
    assert header.split() == ["ID", "UPDATED", "PROVIDER", "MODEL", "MESSAGES", "TITLE"]
    assert first.startswith(newer.id) and first.endswith("second chat")
    assert "openai" in first and "gpt-test" in first
    assert second.startswith(older.id) and " 2 " in second


def test_list_json_pages_filters_and_reports_problems(daemon_env: DaemonEnv) -> None:
    saved = [save(daemon_env, provider="gemini" if n % 2 else "claude") for n in range(5)]
    (daemon_env.store_dir / "not-a-uuid.json").write_text("{}")
    result = chatd(daemon_env, "store", "list", "--json", "--all", "--limit", "2")
    document = json.loads(result.stdout)
    assert sorted(item["id"] for item in document["items"]) == sorted(s.id for s in saved)
    assert document["problems"] == [
        {
            "file": "not-a-uuid.json",
            "reason": "invalid_snapshot_id",
            "message": "'not-a-uuid' is not a conversation id (a UUID)",
        }
    ]
    item = document["items"][0]
    assert set(item) == {
        "id", "provider", "model", "title", "created_at", "updated_at", "message_count",
        "metadata", "revision",
    }  # fmt: skip
    assert item["updated_at"].endswith("Z")

    gemini = json.loads(chatd(daemon_env, "store", "list", "--json", "--provider", "gemini").stdout)
    assert len(gemini["items"]) == 2
    first_page = chatd(daemon_env, "store", "list", "--limit", "2")
    assert len(first_page.stdout.splitlines()) == 3
    assert "--all" in first_page.stderr
    assert "not-a-uuid.json" in first_page.stderr and "not-a-uuid" not in first_page.stdout


def test_show_prints_summary_json_and_markdown(daemon_env: DaemonEnv) -> None:
    messages = [
        {"role": "user", "content": "plain string turn"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "anthropic block"},
                {"type": "tool_use", "id": "t1", "name": "lookup", "input": {}},
            ],
        },  # noqa: E501
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "42"}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "tool output"},
        {"role": "model", "parts": [{"text": "gemini part"}, {"functionCall": {"name": "f"}}]},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "responses text"}],
        },  # noqa: E501
    ]
    saved = save(daemon_env, messages=messages, title="Shapes")
    summary = chatd(daemon_env, "store", "show", saved.id)
    assert saved.id in summary.stdout and "Shapes" in summary.stdout

    document = json.loads(chatd(daemon_env, "store", "show", "--json", saved.id).stdout)
    assert document["messages"] == messages
    assert document["revision"] == 1

    markdown = chatd(daemon_env, "store", "show", "--markdown", saved.id).stdout
    assert markdown.startswith("# Shapes\n")
    assert "## System\n\nBe brief." in markdown
    assert "## User\n\nplain string turn" in markdown
    assert "## Assistant\n\nanthropic block" in markdown
    assert "## Assistant\n\ngemini part" in markdown
    assert "## Assistant\n\nresponses text" in markdown
    for hidden in ("tool_use", "42", "tool output", "functionCall"):
        assert hidden not in markdown


def test_delete_then_missing_and_invalid_ids_fail_in_one_line(daemon_env: DaemonEnv) -> None:
    saved = save(daemon_env)
    deleted = chatd(daemon_env, "store", "delete", saved.id)
    assert (deleted.returncode, deleted.stdout) == (0, "")
    assert not (daemon_env.store_dir / f"{saved.id}.json").exists()
    assert_fails_in_one_line(
        chatd(daemon_env, "store", "delete", saved.id), "no saved conversation"
    )
    assert_fails_in_one_line(chatd(daemon_env, "store", "show", saved.id), saved.id)
    assert_fails_in_one_line(
        chatd(daemon_env, "store", "show", "../../etc/passwd"), "is not a conversation id"
    )


def test_key_generate_prints_or_writes_a_private_file(daemon_env: DaemonEnv) -> None:
    printed = chatd(daemon_env, "key", "generate")
    assert len(base64.b64decode(printed.stdout.strip(), validate=True)) == 32
    assert printed.stdout != chatd(daemon_env, "key", "generate").stdout
    path = daemon_env.root / "store.key"
    written = chatd(daemon_env, "key", "generate", "--output", str(path))
    assert (written.returncode, written.stdout) == (0, "")
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(base64.b64decode(path.read_text().strip())) == 32
    before = path.read_bytes()
    assert_fails_in_one_line(
        chatd(daemon_env, "key", "generate", "--output", str(path)), "refusing to overwrite"
    )
    assert path.read_bytes() == before


def test_encrypt_then_rekey_a_store(daemon_env: DaemonEnv) -> None:
    saved = [save(daemon_env, title=f"chat {n}") for n in range(3)]
    assert_fails_in_one_line(chatd(daemon_env, "store", "encrypt"), "no store key is configured")

    key_file = write_key(daemon_env.root / "old.key", KEY)
    encrypted = chatd(daemon_env, "store", "encrypt", CHATD_STORE_KEY_FILE=str(key_file))
    assert (encrypted.returncode, encrypted.stdout) == (0, ""), encrypted.stderr
    assert "3 of 3 files encrypted" in encrypted.stderr
    assert FileStore(daemon_env.store_dir, KEY).load(saved[0].id) == saved[0]
    again = chatd(daemon_env, "store", "encrypt", CHATD_STORE_KEY=KEY.hex())
    assert "0 of 3 files encrypted" in again.stderr

    without_key = chatd(daemon_env, "store", "list")
    assert without_key.stdout == ""
    assert without_key.stderr.count("encrypted_no_key") == 3
    assert "CHATD_STORE_KEY_FILE" in without_key.stderr

    new_key_file = write_key(daemon_env.root / "new.key", OTHER_KEY)
    rekeyed = chatd(
        daemon_env, "store", "rekey", "--new-key-file", str(new_key_file), CHATD_STORE_KEY=KEY.hex()
    )
    assert rekeyed.returncode == 0, rekeyed.stderr
    assert str(new_key_file) in rekeyed.stderr
    listed = chatd(daemon_env, "store", "list", "--json", CHATD_STORE_KEY_FILE=str(new_key_file))
    assert sorted(item["title"] for item in json.loads(listed.stdout)["items"]) == [
        "chat 0",
        "chat 1",
        "chat 2",
    ]
    stale = chatd(daemon_env, "store", "show", saved[0].id, CHATD_STORE_KEY_FILE=str(key_file))
    assert_fails_in_one_line(stale, "wrong key or tampered file")


def test_rekey_with_an_old_key_that_does_not_fit_reports_each_file(daemon_env: DaemonEnv) -> None:
    save(daemon_env, key=OTHER_KEY)
    new_key_file = write_key(daemon_env.root / "new.key", bytes(32))
    result = chatd(
        daemon_env, "store", "rekey", "--new-key-file", str(new_key_file), CHATD_STORE_KEY=KEY.hex()
    )
    assert_fails_in_one_line(result, "is encrypted with another key than the configured one")


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        ({"CHATD_STORE_KEY": "too-short"}, "CHATD_STORE_KEY"),
        ({"CHATD_STORE_KEY": " "}, "CHATD_STORE_KEY is set but empty"),
        ({"CHATD_STORE_KEY_FILE": "/nonexistent/store.key"}, "does not exist"),
    ],
)
def test_unusable_keys_fail_in_one_line(
    daemon_env: DaemonEnv, variables: dict[str, str], fragment: str
) -> None:
    assert_fails_in_one_line(chatd(daemon_env, "store", "list", **variables), fragment)


def test_a_key_file_others_can_read_is_refused_with_the_fix(daemon_env: DaemonEnv) -> None:
    key_file = write_key(daemon_env.root / "open.key", KEY, mode=0o644)
    daemon_env.config.write_text(f'[store]\nkey_file = "{key_file}"\n')
    result = chatd(daemon_env, "store", "list")
    assert_fails_in_one_line(result, str(key_file), "0644", f"chmod 600 {key_file}")
