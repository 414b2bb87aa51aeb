"""The VS Code extension: its protocol client under node's test runner against the real daemon.

`npm test` in `editors/vscode` runs with this venv's `chatd` first on PATH; a failure shows
the runner's whole output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXTENSION = Path(__file__).resolve().parents[2] / "editors" / "vscode"
VENV_BIN = Path(sys.executable).parent


def run_npm(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        ["npm", *args],
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
    return EXTENSION


def test_protocol_client_against_the_real_daemon(built_extension: Path) -> None:
    result = run_npm("test", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


CACHE = Path(os.environ.get("CHATD_CI_CACHE", "/var/cache/chatd-ci"))
VSCODE_TOOLS = CACHE / "vscode-tools"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "vscode.png"
UPDATE_SCREENSHOTS = os.environ.get("CHATD_UPDATE_SCREENSHOTS") == "1"


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
    if UPDATE_SCREENSHOTS:
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(artifacts / "vscode.png", SCREENSHOT)
