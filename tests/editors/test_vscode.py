"""The VS Code extension against the real daemon: its protocol client under node's test
runner, its client-hosted tools against the fake provider API, and the extension itself in
code-server driven by playwright-core.

The node scripts run with this venv's `chatd` first on PATH; a failure shows their output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.editors.conftest import publish
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Call, Reply
from tests.providers import wire

EXTENSION = Path(__file__).resolve().parents[2] / "editors" / "vscode"
VENV_BIN = Path(sys.executable).parent


def run_npm(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return run_in_extension("npm", *args, timeout=timeout)


def run_in_extension(*argv: str, timeout: float, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **extra, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        argv,
        cwd=EXTENSION,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def built_extension() -> Path:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed (.ci/setup.d/40-vscode.sh installs it)")
    if not (EXTENSION / "node_modules").is_dir():
        installed = run_npm("ci", "--no-audit", "--no-fund", timeout=600)
        assert installed.returncode == 0, installed.stdout + installed.stderr
    built = run_npm("run", "build", timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    return EXTENSION


def test_protocol_client_against_the_real_daemon(built_extension: Path) -> None:
    result = run_npm("test", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hosted_tools_reach_the_model_before_and_after_a_restart(built_extension: Path) -> None:
    server = FakeProviderServer().start()
    try:
        server.script(
            Reply("Let me read it.", calls=[Call("read_buffer", {"path": "notes.txt"}, id="c1")]),
            Reply("It says: unsaved text."),
            Reply(calls=[Call("open_file", {"path": "notes.txt", "line": 3}, id="c2")]),
            Reply("Opened."),
        )
        result = run_in_extension(
            "node", "--test", "test/tools.test.js", timeout=300, CHATD_FAKE_PROVIDER_URL=server.url
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "# pass 1" in result.stdout, result.stdout
        results = [wire.tool_results(request) for request in server.requests]
    finally:
        server.stop()
    assert results[1] == [("c1", "unsaved text of notes.txt", False)]
    assert results[3][-1] == ("c2", "opened notes.txt at line 3", False)


CACHE = Path(os.environ.get("CHATD_CI_CACHE", "/var/cache/chatd-ci"))
VSCODE_TOOLS = CACHE / "vscode-tools"


@pytest.mark.timeout(900)  # its own steps are bounded (package 300 s, browser run 600 s)
def test_extension_in_code_server(built_extension: Path, tmp_path: Path) -> None:
    """Chat view, send, streamed answer, resume after kill -9 of the daemon, in a real VS Code."""
    if not (VSCODE_TOOLS / "code-server").is_dir() or not Path("/usr/bin/chromium").exists():
        pytest.skip(f"no code-server in {VSCODE_TOOLS} or no chromium (.ci/setup.d/40-vscode.sh)")
    packaged = run_npm("run", "package", timeout=300)
    assert packaged.returncode == 0, packaged.stdout + packaged.stderr
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    env = {
        **os.environ,
        "VSCODE_TOOLS": str(VSCODE_TOOLS),
        "CHATD_VSIX": str(built_extension / "chatd.vsix"),
        "CHATD_PYTHON": sys.executable,
        "ARTIFACTS": str(artifacts),
    }
    result = subprocess.run(
        ["node", "test/code-server.js"],
        cwd=built_extension,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"artifacts in {artifacts}\n{result.stdout}{result.stderr}"
    publish(artifacts / "vscode.png")
