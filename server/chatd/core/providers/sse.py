"""Server-sent events from a streamed response body, as (event name, parsed JSON) pairs.

The Anthropic and OpenAI SDKs send the request (auth, base URL, retries, status errors), and
chatd reads the stream itself through their public ``with_streaming_response``: building the
SDKs' pydantic event models costs 100-300 µs per delta, ``json.loads`` a few µs, and the
adapters want plain JSON for history anyway. The body is split into events at the byte level
(LF or CRLF line ends), one generator layer above the socket rather than three.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

DONE = "[DONE]"
"""OpenAI's end-of-stream sentinel (not JSON)."""


async def sse_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[tuple[str, Any]]:
    """Events dispatch at blank lines; ``data:`` lines join with newlines; comments skip."""
    buffer = b""
    async for chunk in chunks:
        buffer = (buffer + chunk).replace(b"\r\n", b"\n")
        *blocks, buffer = buffer.split(b"\n\n")
        for block in blocks:
            event = _event(block)
            if event is not None:
                yield event
    if buffer.strip():
        event = _event(buffer)
        if event is not None:
            yield event


def _event(block: bytes) -> tuple[str, Any] | None:
    name = ""
    data: list[bytes] = []
    for line in block.split(b"\n"):
        if line.startswith(b"data:"):
            data.append(line[6:] if line[5:6] == b" " else line[5:])
        elif line.startswith(b"event:"):
            name = line[6:].strip().decode()
    if not data:
        return None
    payload = b"\n".join(data)
    return name, DONE if payload == DONE.encode() else json.loads(payload)
