"""Newline-delimited JSON, as ACP's stdio transport requires (not Content-Length frames).

One UTF-8 JSON message per line. A line longer than the limit is dropped up to its end and
reported once, so one oversize message costs the client an error, not the connection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Oversize:
    """A line was longer than the limit; its bytes were discarded."""

    limit: int


class LineParser:
    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self._buffer = bytearray()
        self._skipping = False

    def feed(self, data: bytes) -> list[bytes | Oversize]:
        """The complete lines in ``data`` (without their newline), and oversize markers."""
        events: list[bytes | Oversize] = []
        self._buffer += data
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                break
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if self._skipping:
                self._skipping = False
            elif len(line) > self.max_line:
                events.append(Oversize(self.max_line))
            elif line.strip():
                events.append(line)
        if len(self._buffer) > self.max_line:
            self._buffer.clear()
            if not self._skipping:
                self._skipping = True
                events.append(Oversize(self.max_line))
        return events


def encode_line(message: Any) -> bytes:
    """One message as one line: compact, UTF-8, no newline inside (JSON escapes them)."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
