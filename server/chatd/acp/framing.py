"""Newline-delimited JSON, as ACP's stdio transport requires (not Content-Length frames).

One UTF-8 JSON message per line. A line longer than the limit is dropped up to its end and
reported once, so one oversize message costs the client an error, not the connection.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import orjson

from chatd_client.framing import without_lone_surrogates


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
    """One message as one line: compact UTF-8 JSON (a newline inside a string is escaped).

    orjson for speed: a 1,000-message replay is mostly encoding. What it refuses goes through
    the stdlib instead: an integer beyond 64 bits is written as it is, and a lone surrogate (a
    hand-edited snapshot, a provider's broken escape) as U+FFFD, which strict parsers accept.
    """
    try:
        return orjson.dumps(message, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        return _stdlib_json(message) + b"\n"


def encode_text(text: str) -> bytes:
    """One JSON string, as ``encode_line`` would write it."""
    try:
        return orjson.dumps(text)
    except orjson.JSONEncodeError:
        return _stdlib_json(text)


def _stdlib_json(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return without_lone_surrogates(text).encode()


TEXT_CHUNKS = frozenset({"user_message_chunk", "agent_message_chunk", "agent_thought_chunk"})


class TextLines:
    """Text chunks' ``session/update`` lines for one session, laid into a template with only
    their text encoded: text chunks are nearly all of a stream or a replay, and encoding the
    whole message for each doubles a 1,000-message replay's encoding."""

    def __init__(self, session_id: str) -> None:
        head = (
            b'{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":'
            + encode_text(session_id)
            + b',"update":{"sessionUpdate":"'
        )
        self._heads = {
            kind: head + kind.encode() + b'","content":{"type":"text","text":'
            for kind in TEXT_CHUNKS
        }

    def line(self, kind: str, text: str) -> bytes:
        return self._heads[kind] + encode_text(text) + b"}}}}\n"


@functools.lru_cache(maxsize=64)
def text_lines(session_id: str) -> TextLines:
    """One template per session, not one per streamed delta."""
    return TextLines(session_id)


def update_line(session_id: str, update: dict[str, Any]) -> bytes:
    """A ``session/update`` notification as one line."""
    kind = update["sessionUpdate"]
    content = update.get("content") or {}
    if kind in TEXT_CHUNKS and len(update) == 2 and len(content) == 2:
        return text_lines(session_id).line(kind, content["text"])
    params = {"sessionId": session_id, "update": update}
    return encode_line({"jsonrpc": "2.0", "method": "session/update", "params": params})
