"""The wire contract at the byte level, over stdio and the socket: framing, JSON-RPC
validity, lifecycle; after every bad input the daemon still answers."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import RawPeer

pytestmark = pytest.mark.anyio

INIT = {"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {}}


async def initialized(peer: RawPeer) -> RawPeer:
    await peer.request(INIT)
    answer = await peer.response("init")
    assert answer["result"]["serverInfo"]["name"] == "chatd"
    return peer


async def assert_still_serving(peer: RawPeer) -> None:
    await peer.request({"jsonrpc": "2.0", "id": "alive", "method": "store/list", "params": {}})
    answer = await peer.response("alive")
    assert answer["result"]["items"] == []


def body_frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


async def test_initialize_describes_the_daemon(raw_peer: RawPeer) -> None:
    await raw_peer.request(INIT)
    result = (await raw_peer.response("init"))["result"]
    assert result["protocolVersion"] == 1
    capabilities = result["capabilities"]
    assert capabilities["defaultProvider"] == "echo"
    assert capabilities["encryption"] is False
    by_name = {p["name"]: p for p in capabilities["providers"]}
    assert by_name["echo"] == {
        "name": "echo",
        "kind": "echo",
        "persistent": True,
        "streaming": True,
        "available": True,
    }
    assert by_name["claude"]["available"] is False


async def test_requests_before_initialize_are_refused(raw_peer: RawPeer) -> None:
    await raw_peer.request({"jsonrpc": "2.0", "id": 1, "method": "store/list"})
    error = (await raw_peer.response(1))["error"]
    assert error["code"] == -32002
    assert error["data"]["reason"] == "not_initialized"
    await initialized(raw_peer)
    await assert_still_serving(raw_peer)


async def test_malformed_json_gets_parse_error_with_null_id(raw_peer: RawPeer) -> None:
    await initialized(raw_peer)
    await raw_peer.send(body_frame(b'{"jsonrpc": "2.0", "id": 5, "method": '))
    answer = await raw_peer.receive()
    assert answer["id"] is None
    assert answer["error"]["code"] == -32700
    assert answer["error"]["data"]["reason"] == "parse_error"
    await raw_peer.send(body_frame(b"\xff\xfe not utf-8"))
    assert (await raw_peer.receive())["error"]["code"] == -32700
    await assert_still_serving(raw_peer)


@pytest.mark.parametrize(
    ("message", "echoed_id"),
    [
        ([], None),
        ([{"jsonrpc": "2.0", "id": 1, "method": "store/list"}], None),
        ("a string", None),
        (42, None),
        ({"id": 7, "method": "store/list"}, 7),
        ({"jsonrpc": "1.0", "id": 8, "method": "store/list"}, 8),
        ({"jsonrpc": "2.0", "id": 9, "method": 12}, 9),
        ({"jsonrpc": "2.0", "id": {"a": 1}, "method": "store/list"}, None),
        ({"jsonrpc": "2.0", "id": [1], "method": "store/list"}, None),
        ({"jsonrpc": "2.0", "id": True, "method": "store/list"}, None),
        ({"jsonrpc": "2.0", "id": 10, "method": "store/list", "params": "x"}, 10),
        ({"jsonrpc": "2.0", "id": 11}, 11),
        ({"jsonrpc": "2.0"}, None),
    ],
)
async def test_invalid_requests_get_one_error_each(
    raw_peer: RawPeer, message: object, echoed_id: object
) -> None:
    await initialized(raw_peer)
    await raw_peer.request(message)
    answer = await raw_peer.receive()
    assert answer["id"] == echoed_id
    assert answer["error"]["code"] == -32600
    assert answer["error"]["data"]["reason"] in ("invalid_request", "batch_not_supported")
    assert "Traceback" not in json.dumps(answer)
    await assert_still_serving(raw_peer)


@pytest.mark.parametrize("request_id", ["abc", "", 0, -3, 2**62, 1.5])
async def test_ids_of_every_valid_type_are_echoed(raw_peer: RawPeer, request_id: object) -> None:
    await initialized(raw_peer)
    await raw_peer.request({"jsonrpc": "2.0", "id": request_id, "method": "store/list"})
    answer = await raw_peer.receive()
    assert answer["id"] == request_id
    assert answer["result"]["items"] == []


async def test_unknown_methods_and_notifications(raw_peer: RawPeer) -> None:
    await initialized(raw_peer)
    await raw_peer.request({"jsonrpc": "2.0", "id": 1, "method": "no/such"})
    error = (await raw_peer.response(1))["error"]
    assert (error["code"], error["data"]["reason"]) == (-32601, "method_not_found")
    await raw_peer.request({"jsonrpc": "2.0", "id": 2, "method": "$/unknownRequest"})
    assert (await raw_peer.response(2))["error"]["code"] == -32601
    await raw_peer.request({"jsonrpc": "2.0", "method": "no/such/notification"})
    await raw_peer.request({"jsonrpc": "2.0", "method": "$/setTrace", "params": {"value": "off"}})
    await raw_peer.request({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 999}})
    await raw_peer.request({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": "bad"})
    await assert_still_serving(raw_peer)


async def test_wrong_params_name_the_field(raw_peer: RawPeer) -> None:
    await initialized(raw_peer)
    cases = [
        ("chat/send", {"message": 5}, "message"),
        ("chat/send", {}, "message"),
        ("chat/send", {"message": "hi", "sessionId": 3}, "sessionId"),
        ("store/list", {"limit": "5"}, "limit"),
        ("store/list", {"limit": 0}, "limit"),
        ("chat/new", {"metadata": {"a": 1}}, "metadata"),
        ("chat/new", [1, 2], "params"),
    ]
    for index, (method, params, field) in enumerate(cases):
        await raw_peer.request({"jsonrpc": "2.0", "id": index, "method": method, "params": params})
        error = (await raw_peer.response(index))["error"]
        assert error["code"] == -32602, (method, params, error)
        assert error["data"] == {"reason": "invalid_params", "field": field}
    await assert_still_serving(raw_peer)


async def test_header_names_are_case_insensitive_and_extra_headers_ignored(
    raw_peer: RawPeer,
) -> None:
    body = json.dumps(INIT).encode()
    await raw_peer.send(
        b"content-length: %d\r\nX-Whatever: 1\r\ncontent-type: application/vscode-jsonrpc; "
        b"charset=utf8\r\n\r\n%s" % (len(body), body)
    )
    assert (await raw_peer.response("init"))["result"]["protocolVersion"] == 1


async def test_bad_headers_and_charsets_are_errors_not_hangs(raw_peer: RawPeer) -> None:
    await initialized(raw_peer)
    await raw_peer.send(b"Content-Length: abc\r\n\r\n")
    assert (await raw_peer.receive())["error"]["data"]["reason"] == "bad_header"
    await raw_peer.send(b"no colon here\r\n\r\n")
    assert (await raw_peer.receive())["error"]["data"]["reason"] == "bad_header"
    body = b'{"jsonrpc":"2.0","id":1,"method":"store/list"}'
    await raw_peer.send(
        b"Content-Length: %d\r\nContent-Type: text/plain; charset=latin-1\r\n\r\n%s"
        % (len(body), body)
    )
    assert (await raw_peer.receive())["error"]["data"]["reason"] == "bad_charset"
    await assert_still_serving(raw_peer)


async def test_oversized_frame_is_rejected_without_killing_the_connection(
    raw_peer: RawPeer,
) -> None:
    await initialized(raw_peer)
    body = b'{"jsonrpc":"2.0","id":1,"method":"chat/send","params":{"message":"%s"}}' % (
        b"x" * (17 * 1024 * 1024)
    )
    await raw_peer.send(body_frame(body))
    answer = await raw_peer.receive()
    assert answer["id"] is None
    assert answer["error"]["data"]["reason"] == "frame_too_large"
    await assert_still_serving(raw_peer)


async def test_frames_split_across_writes_and_coalesced(raw_peer: RawPeer) -> None:
    frame = body_frame(json.dumps(INIT).encode())
    for byte in frame[:30]:
        await raw_peer.send(bytes([byte]))
    await raw_peer.send(frame[30:])
    await raw_peer.response("init")
    two = b"".join(
        body_frame(json.dumps({"jsonrpc": "2.0", "id": i, "method": "store/list"}).encode())
        for i in (1, 2)
    )
    await raw_peer.send(two)
    assert {(await raw_peer.receive())["id"], (await raw_peer.receive())["id"]} == {1, 2}


async def test_unicode_survives_the_round_trip(raw_peer: RawPeer) -> None:
    await initialized(raw_peer)
    message = "héllo 🌍 — 中文"
    await raw_peer.request(
        {"jsonrpc": "2.0", "id": 1, "method": "chat/send", "params": {"message": message}}
    )
    result = (await raw_peer.response(1))["result"]
    assert result["text"] == f"[1] {message}"


async def test_second_initialize_is_refused(raw_peer: RawPeer) -> None:
    await initialized(raw_peer)
    await raw_peer.request({**INIT, "id": "again"})
    error = (await raw_peer.response("again"))["error"]
    assert (error["code"], error["data"]["reason"]) == (-32600, "already_initialized")


async def test_shutdown_then_requests_are_refused(raw_peer: RawPeer) -> None:
    await initialized(raw_peer)
    await raw_peer.request({"jsonrpc": "2.0", "id": 1, "method": "shutdown"})
    assert (await raw_peer.response(1))["result"] is None
    await raw_peer.request({"jsonrpc": "2.0", "id": 2, "method": "store/list"})
    error = (await raw_peer.response(2))["error"]
    assert (error["code"], error["data"]["reason"]) == (-32600, "shutting_down")
