"""``chatd ask`` as a user runs it: the answer as JSON on stdout, errors as one line."""

from __future__ import annotations

import json

from tests.integration.conftest import DaemonEnv
from tests.integration.test_cli import chatd


def test_ask_prints_the_answer_as_json(daemon_env: DaemonEnv) -> None:
    schema = daemon_env.root / "schema.json"
    schema.write_text(
        json.dumps(
            {
                "type": "object",
                "properties": {"mood": {"enum": ["calm", "busy"]}, "items": {"type": "array"}},
                "required": ["mood", "items"],
            }
        )
    )
    bad = daemon_env.root / "bad.json"
    bad.write_text('{"type": 5}')
    try:
        answered = chatd(daemon_env, "ask", "--schema", str(schema), "How is it going?")
        assert answered.returncode == 0, answered.stderr
        assert json.loads(answered.stdout) == {"mood": "calm", "items": ["echo"]}
        refused = chatd(daemon_env, "ask", "--schema", str(bad), "x")
        assert refused.returncode == 1
        assert refused.stderr.startswith("Error: schema is not a valid JSON Schema")
        assert "Traceback" not in refused.stderr
    finally:
        chatd(daemon_env, "stop")
