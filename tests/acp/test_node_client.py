"""The official ACP TypeScript SDK (``@agentclientprotocol/sdk`` 2.4) drives ``chatd acp``:
new, streamed prompt, cancel, list, ``kill -9``, a new agent, ``session/load``, continue.

The script is ``node/flow.mjs``; ``.ci/setup.d/30-acp.sh`` installs its locked packages.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from chatd_client import daemon_command
from tests.acp.conftest import AcpEnv

NODE_DIR = Path(__file__).parent / "node"


def test_the_typescript_sdk_client_survives_a_kill_9(acp_env: AcpEnv) -> None:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "@agentclientprotocol" / "sdk").is_dir():
        pytest.skip("needs node and `npm ci` in tests/acp/node (.ci/setup.d/30-acp.sh)")
    run = subprocess.run(
        [node, str(NODE_DIR / "flow.mjs")],
        env=acp_env.env(
            CHATD_ACP_COMMAND=json.dumps(daemon_command("acp")),
            ACP_TEST_CWD=acp_env.cwd,
            CHATD_ECHO_DELAY_MS="150",
        ),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["ok"] is True and summary["replayed"] == 4
