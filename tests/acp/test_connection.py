"""``AcpConnection`` in process: request cancellation and requests to the client."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from chatd.acp.connection import AcpConnection, ClientRequestFailed

pytestmark = pytest.mark.anyio


class Lines:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def write(self, data: bytes) -> None:
        self.sent += [json.loads(line) for line in data.splitlines()]


def line(message: Any) -> bytes:
    return json.dumps(message).encode()


async def test_a_cancelled_request_answers_minus_32800() -> None:
    lines = Lines()
    connection = AcpConnection(lines)

    async def forever(params: Any) -> Any:
        await asyncio.Event().wait()

    connection.handlers["_slow"] = forever
    connection.receive(line({"jsonrpc": "2.0", "id": "r1", "method": "_slow", "params": {}}))
    connection.receive(line({"jsonrpc": "2.0", "id": "r1", "method": "_slow", "params": {}}))
    await asyncio.sleep(0)
    assert lines.sent[0]["error"]["data"]["reason"] == "duplicate_id"
    connection.receive(line({"jsonrpc": "2.0", "method": "$/cancel_request", "params": {}}))
    connection.receive(
        line({"jsonrpc": "2.0", "method": "$/cancel_request", "params": {"requestId": "r1"}})
    )
    for _ in range(5):
        await asyncio.sleep(0)
    assert lines.sent[1] == {
        "jsonrpc": "2.0",
        "id": "r1",
        "error": {"code": -32800, "message": "request cancelled", "data": {"reason": "cancelled"}},
    }


async def test_requests_to_the_client_get_its_result_or_its_error() -> None:
    lines = Lines()
    connection = AcpConnection(lines)
    asked = asyncio.create_task(connection.request("fs/read_text_file", {"path": "/a"}))
    refused = asyncio.create_task(connection.request("fs/read_text_file", {"path": "/b"}))
    await asyncio.sleep(0)
    first, second = lines.sent
    connection.receive(line({"jsonrpc": "2.0", "id": first["id"], "result": {"content": "x"}}))
    error = {"code": -32002, "message": "no such file"}
    connection.receive(line({"jsonrpc": "2.0", "id": second["id"], "error": error}))
    assert await asked == {"content": "x"}
    with pytest.raises(ClientRequestFailed):
        await refused
