"""A newcomer's first hour (issue 13), as a new user runs it: the real CLI and daemon, a fresh
HOME and runtime dir, and the replies of a real provider SDK from a fake server on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import re
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

from chatd.core.store import FileStore
from chatd.core.store.crypto import Envelope
from chatd_client import daemon_command
from tests.fakes.provider_server import FakeProviderServer, Reply
from tests.integration.newcomer import NewUser, conversation_of, new_user
from tests.providers.wire import auth_of

__all__ = ["new_user"]

README = Path(__file__).parents[2] / "README.md"
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def claude_config(server: FakeProviderServer) -> str:
    return f'[providers.claude]\nbase_url = "{server.url}"\nmax_retries = 0\n'


def test_a_key_set_after_the_daemon_started_takes_effect(
    new_user: NewUser, fake_server: FakeProviderServer
) -> None:
    first = new_user.ok("send", "Hello, chatd")
    assert first.stdout.strip() == "[1] Hello, chatd"
    assert "offline echo provider" in first.stderr
    old_pid = new_user.daemon_pid()

    new_user.write_config(claude_config(fake_server))
    fake_server.script(Reply("Hello from Claude"))
    second = new_user.ok("send", "Hello again", ANTHROPIC_API_KEY="test-key")
    assert second.stdout.strip() == "Hello from Claude"
    assert second.stderr.splitlines()[0] == (
        "chatd: restarted the daemon to apply changed settings (ANTHROPIC_API_KEY, config file)"
    )
    assert "echo" not in second.stderr
    request = fake_server.requests[-1]
    assert request.headers.get("x-api-key", auth_of(request)) == "test-key"
    assert new_user.daemon_pid() not in (None, old_pid)

    status = new_user.ok("status", ANTHROPIC_API_KEY="test-key")
    assert "settings: current" in status.stdout
    assert "test-key" not in status.stdout
    stale = new_user.ok("status")
    assert "changed since start: ANTHROPIC_API_KEY" in stale.stdout

    fake_server.script(Reply("Converted"))
    echo_id = conversation_of(first)
    converted = new_user.ok(
        "send", "--session", echo_id, "-p", "claude", "--convert", "go on",
        ANTHROPIC_API_KEY="test-key",
    )  # fmt: skip
    assert converted.stdout.strip() == "Converted"
    assert "continuing with claude in a new conversation" in converted.stderr
    sent = fake_server.requests[-1].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]


def test_a_daemon_the_user_started_is_not_restarted_but_told(
    new_user: NewUser, fake_server: FakeProviderServer
) -> None:
    daemon = subprocess.Popen(
        daemon_command("serve", "--socket"),
        env=new_user.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_listening(new_user, daemon)
        new_user.write_config(claude_config(fake_server))
        told = new_user.ok("send", "Hello", ANTHROPIC_API_KEY="test-key")
        assert told.stdout.strip().startswith("[")  # still the old daemon: echo
        assert "ANTHROPIC_API_KEY, config file changed since" in told.stderr
        assert "it was not started by chatd on demand" in told.stderr
        assert "`chatd restart`" in told.stderr
        restarted = new_user.ok("restart", ANTHROPIC_API_KEY="test-key")
        assert "chatd restarted" in restarted.stderr
        assert daemon.wait(timeout=20) == 0
        fake_server.script(Reply("Now from Claude"))
        answer = new_user.ok("send", "-c", "Hello", ANTHROPIC_API_KEY="test-key")
        assert answer.stderr.count("warning") == 0, answer.stderr
    finally:
        if daemon.poll() is None:
            daemon.terminate()
            daemon.wait(timeout=20)


def _wait_until_listening(user: NewUser, daemon: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while user.daemon_pid() != daemon.pid or not user.socket.exists():
        assert daemon.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)


def write_key(path: Path, key: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(base64.b64encode(key).decode() + "\n")
    path.chmod(0o600)
    return path


def test_an_encrypted_store_refuses_a_daemon_without_its_key(new_user: NewUser) -> None:
    key_file = new_user.home / ".config" / "chatd" / "store.key"
    generated = new_user.ok("key", "generate", "--output", str(key_file))
    assert str(key_file) in generated.stderr
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(key_file.parent.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with_key = {"CHATD_STORE_KEY_FILE": str(key_file)}
    saved = new_user.ok("send", "secret words", **with_key)
    new_user.ok("stop", **with_key)
    files = {p: p.read_bytes() for p in new_user.store_dir.rglob("*") if p.is_file()}

    other_key = write_key(new_user.home / "other.key", OTHER_KEY)
    for extra, fragment in (
        ({}, "no store key is configured"),
        ({"CHATD_STORE_KEY_FILE": str(other_key)}, "encrypted with another key"),
    ):
        refused = new_user.chatd("send", "more", **extra)
        assert refused.returncode == 1
        assert fragment in refused.stderr and "CHATD_STORE_KEY_FILE" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert new_user.daemon_pid() is None
        listing = new_user.chatd("store", "list", **extra)
        assert listing.returncode == 1
        assert "1 conversations could not be read" in listing.stderr
        assert "no saved conversations" not in listing.stderr
        continued = new_user.chatd("send", "-c", "more", **extra)
        assert continued.returncode == 1
    after = {p: p.read_bytes() for p in new_user.store_dir.rglob("*") if p.is_file()}
    assert after == files
    key = base64.b64decode(key_file.read_text())
    session_file = new_user.store_dir / f"{conversation_of(saved)}.json"
    assert Envelope(key).opens(session_file.read_bytes())
    assert [item.id for item in FileStore(new_user.store_dir, key).list().items] == [
        conversation_of(saved)
    ]


def test_store_commands_go_through_the_daemon_holding_the_only_key(new_user: NewUser) -> None:
    key_file = write_key(new_user.home / "store.key", KEY)
    with_key = {"CHATD_STORE_KEY_FILE": str(key_file)}
    kept = conversation_of(new_user.ok("send", "keep me", **with_key))
    gone = conversation_of(new_user.ok("send", "delete me", **with_key))

    listing = new_user.ok("store", "list", "--json")  # this shell has no key; the daemon has
    assert "was not restarted" in listing.stderr and "no store key" in listing.stderr
    assert {item["id"] for item in json.loads(listing.stdout)["items"]} == {kept, gone}
    shown = new_user.ok("store", "show", kept.upper(), "--markdown")
    assert "keep me" in shown.stdout

    new_user.ok("store", "delete", gone, **with_key)
    resent = new_user.chatd("send", "--session", gone, "again", **with_key)
    assert resent.returncode == 1
    assert f"no live or saved session with id {gone}" in resent.stderr
    assert "saved elsewhere" not in resent.stderr
    assert not (new_user.store_dir / f"{gone}.json").exists()


def test_flag_conflicts_are_usage_errors(new_user: NewUser) -> None:
    first = conversation_of(new_user.ok("send", "Hello"))
    for args, fragment in (
        (("-c", "--session", first, "x"), "choose one"),
        (("-c", "-p", "openai", "x"), "add --convert"),
        (("-c", "-m", "other-model", "x"), "uses model echo-1"),
        (("--session", first, "--system", "Be brief", "x"), "new conversations only"),
        (("--convert", "-p", "echo", "x"), "--convert continues a conversation"),
        (("",), "the message is empty"),
        (("   ",), "the message is empty"),
    ):
        result = new_user.chatd("send", *args)
        assert result.returncode == 2, (args, result.stderr)
        assert fragment in result.stderr, (args, result.stderr)
    empty_stdin = new_user.chatd("send", "-", stdin="")
    assert empty_stdin.returncode == 2 and "the message is empty" in empty_stdin.stderr
    same = new_user.ok("send", "-c", "-p", "echo", "-m", "echo-1", "same as before")
    assert same.stdout.strip() == "[2] same as before"
    from_env = new_user.ok("send", "-c", "model from the environment", CHATD_MODEL="other")
    assert from_env.stdout.strip() == "[3] model from the environment"


def test_stdin_loses_its_final_newline_and_ids_are_normalised(new_user: NewUser) -> None:
    piped = new_user.ok("send", "-", stdin="two lines\nof text\n")
    assert piped.stdout == "[1] two lines\nof text\n"
    session = conversation_of(piped)
    document = json.loads(new_user.ok("store", "show", session.upper(), "--json").stdout)
    assert document["messages"][0]["content"] == "two lines\nof text"
    again = new_user.ok("send", "--session", "{" + session.upper().replace("-", "") + "}", "x")
    assert conversation_of(again) == session
    bad = new_user.chatd("send", "--session", "snapshot-1", "x")
    assert bad.returncode == 1
    assert "is not a conversation id" in bad.stderr and "snapshot id" not in bad.stderr


def test_unknown_providers_list_only_usable_ones(new_user: NewUser) -> None:
    result = new_user.chatd("send", "-p", "nope", "x")
    assert result.returncode == 1
    listed = result.stderr.split("configured providers: ")[1].strip().split(", ")
    assert "claude" not in listed and "echo" in listed


def tour_commands() -> list[str]:
    """The README tour's keyless block, one command a line, comments dropped."""
    text = README.read_text()
    block = text.split("## A short tour", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def test_the_readme_tour_runs_as_written_without_a_key(new_user: NewUser) -> None:
    commands = tour_commands()
    assert commands[0].startswith('chatd send "') and commands[-1] == "chatd stop"
    conversation = ""
    for command in commands:
        stdin = ""
        if " | " in command:
            producer, command = command.split(" | ")
            stdin = producer.removeprefix("echo ").strip('"') + "\n"
        words = [word.strip('"') for word in re.findall(r'"[^"]*"|\S+', command)]
        words = [conversation if word == "0b8f3c1e-…" else word for word in words]
        assert words[0] == "chatd"
        result = new_user.ok(*words[1:], stdin=stdin)
        if words[1] == "send" and not conversation:
            conversation = conversation_of(result)
        if words[1:3] == ["store", "delete"]:
            conversation = ""
            assert "deleted" in result.stderr
        if words[1:3] == ["store", "path"]:
            assert result.stdout.strip() == str(new_user.store_dir)
    assert new_user.daemon_pid() is None


def test_the_readme_client_example_runs(new_user: NewUser) -> None:
    text = README.read_text()
    example = text.split("```python\n", 1)[1].split("```", 1)[0]
    result = subprocess.run(
        [sys.executable, "-c", example],
        env=new_user.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("[1] Hello ")


def test_a_relative_config_path_does_not_restart_the_daemon_each_time(new_user: NewUser) -> None:
    work = new_user.home / "work"
    work.mkdir()
    (work / "chatd.toml").write_text("[daemon]\nidle_evict_s = 900\n")

    def send(*args: str) -> subprocess.CompletedProcess[str]:
        command = daemon_command("--config", "chatd.toml", "send", *args)
        return subprocess.run(
            command, env=new_user.env, cwd=work, capture_output=True, text=True, timeout=60
        )

    assert send("one").returncode == 0
    again = send("-c", "two")
    assert again.returncode == 0 and again.stdout.strip() == "[2] two"
    assert "restarted" not in again.stderr and "warning" not in again.stderr


def test_continuing_when_no_conversation_can_be_read_says_why(new_user: NewUser) -> None:
    session = conversation_of(new_user.ok("send", "Hello"))
    (new_user.store_dir / f"{session}.json").write_text("{not json")
    result = new_user.chatd("send", "-c", "more")
    assert result.returncode == 1
    assert "there is no conversation to continue: 1 conversations could not be read" in (
        result.stderr
    )


def test_a_daemon_with_another_client_is_not_restarted(new_user: NewUser) -> None:
    new_user.ok("send", "Hello")
    pid = new_user.daemon_pid()
    with socket.socket(socket.AF_UNIX) as editor:  # another client holding a connection
        editor.connect(str(new_user.socket))
        told = new_user.ok("send", "-c", "again", CHATD_ECHO_DELAY_MS="1")
        assert "other clients are connected to it" in told.stderr
        assert "CHATD_ECHO_DELAY_MS changed since" in told.stderr
    assert told.stdout.strip() == "[2] again"
    assert new_user.daemon_pid() == pid
