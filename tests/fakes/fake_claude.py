"""A stand-in for the ``claude`` CLI: ``-p --output-format stream-json --verbose`` output.

Tests install it on PATH as ``claude``. It appends ``{"argv", "stdin", "pid"}`` to the file
named by ``FAKE_CLAUDE_LOG`` and answers ``heard: <prompt>`` the way Claude Code prints it:
a ``system`` init line, ``stream_event`` deltas (with ``--include-partial-messages``), the
``assistant`` message and a ``result`` line. ``FAKE_CLAUDE_MODE`` picks a failure instead:
``error`` (an ``is_error`` result), ``crash`` (exit 3 with stderr), ``hang`` (stop after the
first delta until killed). With ``--json-schema`` the result carries ``structured_output``,
the JSON in ``FAKE_CLAUDE_ANSWER``.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid

HANG_S = 3600


def emit(line: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def main() -> int:
    argv = sys.argv[1:]
    prompt = sys.stdin.read()
    with open(os.environ["FAKE_CLAUDE_LOG"], "a", encoding="utf-8") as log:
        record = {"argv": argv, "stdin": prompt, "pid": os.getpid(), "system_prompt": None}
        if "--system-prompt-file" in argv:
            path = argv[argv.index("--system-prompt-file") + 1]
            record["system_prompt"] = open(path, encoding="utf-8").read()
            record["system_prompt_mode"] = oct(os.stat(path).st_mode & 0o777)
        log.write(json.dumps(record) + "\n")
    mode = os.environ.get("FAKE_CLAUDE_MODE", "ok")
    if mode == "crash":
        sys.stderr.write("Error: Invalid API key · Please run /login\n")
        return 3
    session = argv[argv.index("--resume") + 1] if "--resume" in argv else str(uuid.uuid4())
    emit({"type": "system", "subtype": "init", "session_id": session, "model": "claude-fake"})
    text = f"heard: {prompt}"
    pieces = [text[: len(text) // 2], text[len(text) // 2 :]]
    if "--include-partial-messages" in argv:
        for piece in pieces:
            delta = {"type": "text_delta", "text": piece}
            event = {"type": "content_block_delta", "index": 0, "delta": delta}
            emit({"type": "stream_event", "event": event, "session_id": session})
            if mode == "hang":
                time.sleep(HANG_S)
    content = [
        {"type": "thinking", "thinking": "hmm", "signature": "s"},
        {"type": "text", "text": text},
    ]
    message = {"role": "assistant", "content": content}
    emit({"type": "assistant", "message": message, "session_id": session})
    result = {
        "type": "result",
        "subtype": "error_during_execution" if mode == "error" else "success",
        "is_error": mode == "error",
        "result": "the model is unavailable" if mode == "error" else text,
        "session_id": session,
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 3, "cache_read_input_tokens": 10, "output_tokens": 5},
    }
    if "--json-schema" in argv:
        result["structured_output"] = json.loads(os.environ.get("FAKE_CLAUDE_ANSWER", "{}"))
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
