"""The ``chatd`` command as a user runs it: a real process, its output and exit status."""

from __future__ import annotations

import subprocess

from chatd_client import daemon_command
from tests.integration.conftest import DaemonEnv


def chatd(
    daemon_env: DaemonEnv, *args: str, stdin: str = "", **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        daemon_command(*args),
        env=daemon_env.env(**extra),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_send_starts_a_daemon_and_conversations_continue(daemon_env: DaemonEnv) -> None:
    try:
        first = chatd(daemon_env, "send", "Hello, chatd")
        assert first.returncode == 0, first.stderr
        assert first.stdout.strip() == "[1] Hello, chatd"
        assert "offline echo provider" in first.stderr
        session_id = first.stderr.split("conversation ")[1].split()[0]

        again = chatd(daemon_env, "send", "-c", "again")
        assert again.stdout.strip() == "[2] again"
        piped = chatd(daemon_env, "send", "--session", session_id, "-", stdin="from stdin\n")
        assert piped.stdout.strip() == "[3] from stdin"

        status = chatd(daemon_env, "status")
        assert status.returncode == 0
        assert "liveSessions: 1" in status.stdout
    finally:
        stopped = chatd(daemon_env, "stop")
    assert stopped.returncode == 0
    after = chatd(daemon_env, "status")
    assert after.returncode == 1
    assert after.stderr.strip() == f"Error: no chatd is running on {daemon_env.socket}"


def test_failures_are_one_line_without_traceback(daemon_env: DaemonEnv) -> None:
    try:
        bad_id = chatd(daemon_env, "send", "--session", "../../etc", "x")
        assert bad_id.returncode == 1
        assert len(bad_id.stderr.strip().splitlines()) == 1
        assert "Traceback" not in bad_id.stderr
        missing = chatd(daemon_env, "send", "-p", "claude", "x")
        assert missing.returncode == 1
        assert "ANTHROPIC_API_KEY" in missing.stderr
        assert "Traceback" not in missing.stderr
    finally:
        chatd(daemon_env, "stop")


def test_bad_configuration_is_reported(daemon_env: DaemonEnv) -> None:
    daemon_env.config.write_text("[daemon\n")
    result = chatd(daemon_env, "send", "x")
    assert result.returncode == 1
    assert "not valid TOML" in result.stderr
    assert "Traceback" not in result.stderr
    daemon_env.config.write_text("[daemon]\nsocket_pth = 'x'\n")
    result = chatd(daemon_env, "serve", "--stdio")
    assert result.returncode == 1
    assert "unknown setting socket_pth" in result.stderr


def test_serve_needs_a_transport(daemon_env: DaemonEnv) -> None:
    result = chatd(daemon_env, "serve")
    assert result.returncode == 2
    assert "--stdio" in result.stderr


def test_help_lists_every_command_once(daemon_env: DaemonEnv) -> None:
    result = chatd(daemon_env, "--help")
    assert result.returncode == 0, result.stderr
    commands = result.stdout.split("Commands:\n")[1].splitlines()
    names = [line.split()[0] for line in commands if line.strip()]
    assert len(names) == len(set(names)), names
    assert {"acp", "key", "send", "serve", "store"} <= set(names)
    assert " gc " in chatd(daemon_env, "store", "--help").stdout
