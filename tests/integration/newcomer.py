"""A new user on a fresh machine: an empty HOME, a private runtime dir, no chatd variables.

Commands run as the real ``chatd`` process with only that environment, so the daemon they
start on demand lives at the default socket under the runtime dir and reads the default
config file under HOME, as a user's would.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatd.cli.daemon_link import process_alive
from chatd.config import CONVENTIONAL_KEY_ENV
from chatd_client import daemon_command

PROVIDER_KEY_VARS = {var for names in CONVENTIONAL_KEY_ENV.values() for var in names}


class NewUser:
    def __init__(self, home: Path, runtime: Path) -> None:
        self.home = home
        self.runtime = runtime
        self.config = home / ".config" / "chatd" / "config.toml"
        self.store_dir = home / ".local" / "share" / "chatd" / "conversations"
        self.socket = runtime / "chatd" / "chatd.sock"
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("CHATD_", "XDG_")) and name not in PROVIDER_KEY_VARS
        }
        self.env = {**inherited, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}

    def chatd(self, *args: str, stdin: str = "", **extra: str) -> subprocess.CompletedProcess[str]:
        """Run ``chatd ARGS`` in this user's environment (``extra`` exported first)."""
        return subprocess.run(
            daemon_command(*args),
            env={**self.env, **extra},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def ok(self, *args: str, stdin: str = "", **extra: str) -> subprocess.CompletedProcess[str]:
        result = self.chatd(*args, stdin=stdin, **extra)
        assert result.returncode == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr
        return result

    def write_config(self, text: str) -> None:
        self.config.parent.mkdir(parents=True, exist_ok=True)
        self.config.write_text(text)

    def daemon_pid(self) -> int | None:
        """The pid the running daemon wrote into its socket lock, if one runs."""
        try:
            pid = int((self.socket.parent / "chatd.sock.lock").read_text().strip() or 0)
        except (OSError, ValueError):
            return None
        return pid if pid and process_alive(pid) else None

    def stop_daemon(self) -> None:
        """Stop what a test started: ``chatd stop``, then SIGTERM to the pid it left, if any."""
        self.chatd("stop")
        pid = self.daemon_pid()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            while self.daemon_pid() == pid and time.monotonic() < deadline:
                time.sleep(0.05)


@pytest.fixture
def new_user(tmp_path: Path) -> Iterator[NewUser]:
    home = tmp_path / "home"
    home.mkdir()
    runtime = Path(tempfile.mkdtemp(prefix="chatd-", dir="/tmp"))  # short: sun_path ≤ 108
    user = NewUser(home, runtime)
    try:
        yield user
    finally:
        user.stop_daemon()
        shutil.rmtree(runtime, ignore_errors=True)


def conversation_of(result: subprocess.CompletedProcess[str]) -> str:
    """The id ``chatd send`` printed on stderr."""
    return result.stderr.split("conversation ")[1].split()[0]
