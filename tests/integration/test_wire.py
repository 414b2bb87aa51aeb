"""The wire contract at the byte level, over stdio and the socket: framing, JSON-RPC
validity, lifecycle; after every bad input the daemon still answers."""

from __future__ import annotations

import asyncio
import json
import subprocess

import pytest

from chatd_client import daemon_command
from chatd_client.framing import Frame, FrameParser
from tests.integration.conftest import DaemonEnv, RawPeer

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


def request_frame(message: object) -> bytes:
    return body_frame(json.dumps(message).encode())


async def assert_answered_with(peer: RawPeer, code: int, reason: str, request_id: object) -> None:
    answer = await peer.receive()
    assert answer["id"] == request_id, answer
    assert (answer["error"]["code"], answer["error"]["data"]["reason"]) == (code, reason)


# Issue 12, item 1: nesting is limited before it reaches anything that recurses.
@pytest.mark.parametrize("depth", [129, 1_000, 100_000])
async def test_deep_nesting_is_a_parse_error(raw_peer: RawPeer, depth: int) -> None:
    await initialized(raw_peer)
    await raw_peer.send(body_frame(b"[" * depth + b"]" * depth))
    await assert_answered_with(raw_peer, -32700, "parse_error", None)
    nested = b'{"jsonrpc":"2.0","id":3,"method":"store/list","params":{"x":%s}}' % (
        b"[" * depth + b"]" * depth
    )
    await raw_peer.send(body_frame(nested))
    await assert_answered_with(raw_peer, -32700, "parse_error", None)
    await assert_still_serving(raw_peer)


# Item 2: a Content-Length that str.isdigit() takes but int() does not.
@pytest.mark.parametrize("length", ["\u00b2".encode(), "\u0663".encode(), b"9" * 5_000, b"1" * 16])
async def test_content_length_that_is_no_number_is_bad_header(
    raw_peer: RawPeer, length: bytes
) -> None:
    await initialized(raw_peer)
    await raw_peer.send(b"Content-Length: " + length + b"\r\n\r\n")
    await assert_answered_with(raw_peer, -32600, "bad_header", None)
    await assert_still_serving(raw_peer)


# Item 3: a lone surrogate cannot be echoed; an encoded surrogate is not UTF-8.
async def test_lone_surrogate_id_is_answered_with_null_id(raw_peer: RawPeer) -> None:
    await initialized(raw_peer)
    await raw_peer.send(body_frame(b'{"jsonrpc":"2.0","id":"\\ud800","method":"store/list"}'))
    await assert_answered_with(raw_peer, -32600, "invalid_request", None)
    await raw_peer.send(body_frame(b'{"jsonrpc":"2.0","id":"\\udfff","method":"no/such"}'))
    await assert_answered_with(raw_peer, -32600, "invalid_request", None)
    await assert_still_serving(raw_peer)


async def test_utf8_encoded_surrogate_is_a_parse_error(raw_peer: RawPeer) -> None:
    await initialized(raw_peer)
    body = b'{"jsonrpc":"2.0","id":1,"method":"chat/send","params":{"message":"\xed\xa0\x80"}}'
    await raw_peer.send(body_frame(body))
    await assert_answered_with(raw_peer, -32700, "parse_error", None)
    await assert_still_serving(raw_peer)


# Item 4: a malformed response from the client fails nothing but itself.
@pytest.mark.parametrize(
    "response",
    [
        {"jsonrpc": "2.0", "id": 7, "error": {}},
        {"jsonrpc": "2.0", "id": 7, "error": 5},
        {"jsonrpc": "2.0", "id": 7, "error": {"code": "1", "message": "x"}},
        {"jsonrpc": "2.0", "id": 7, "error": {"code": 2**40, "message": "x"}},
        {"jsonrpc": "2.0", "id": 7, "error": {"code": 1, "message": None}},
        {"jsonrpc": "2.0", "id": 7, "error": {"code": 1, "message": "x", "data": [{}]}},
        {"jsonrpc": "2.0", "id": 7.5, "result": {"a": [None]}},
        {"jsonrpc": "2.0", "id": "x", "result": None, "extra": 1},
    ],
)
async def test_malformed_client_responses_keep_the_connection(
    raw_peer: RawPeer, response: object
) -> None:
    await initialized(raw_peer)
    await raw_peer.request(response)
    await assert_still_serving(raw_peer)


async def test_unknown_keys_in_a_request_are_ignored(raw_peer: RawPeer) -> None:
    await initialized(raw_peer)
    await raw_peer.request({"jsonrpc": "2.0", "id": 1, "method": "store/list", "extra": [1]})
    assert (await raw_peer.response(1))["result"]["items"] == []


# Item 5: a surrogate in a message is invalid_params before the turn starts.
async def test_surrogate_in_a_message_is_invalid_params_and_no_turn(raw_peer: RawPeer) -> None:
    await initialized(raw_peer)
    await raw_peer.request({"jsonrpc": "2.0", "id": 1, "method": "chat/new", "params": {}})
    session_id = (await raw_peer.response(1))["result"]["sessionId"]
    await raw_peer.send(
        body_frame(
            b'{"jsonrpc":"2.0","id":2,"method":"chat/send",'
            b'"params":{"sessionId":"%s","message":"a\\ud83d b"}}' % session_id.encode()
        )
    )
    answer = await raw_peer.receive()  # the very next message: no chat/update came first
    assert answer["id"] == 2
    assert answer["error"]["code"] == -32602
    assert answer["error"]["data"] == {"reason": "invalid_params", "field": "message"}
    send = {"sessionId": session_id, "message": "fine"}
    await raw_peer.request({"jsonrpc": "2.0", "id": 3, "method": "chat/send", "params": send})
    seqs = []
    while (message := await raw_peer.receive()).get("id") != 3:
        seqs.append(message["params"]["seq"])
    assert seqs == list(range(1, len(seqs) + 1))
    assert message["result"]["text"] == "[1] fine"


# Item 6: NaN and Infinity are not JSON, nor is a number that overflows to infinity.
@pytest.mark.parametrize("request_id", [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e400"])
async def test_non_finite_ids_are_parse_errors(raw_peer: RawPeer, request_id: bytes) -> None:
    await initialized(raw_peer)
    await raw_peer.send(body_frame(b'{"jsonrpc":"2.0","id":%s,"method":"store/list"}' % request_id))
    await assert_answered_with(raw_peer, -32700, "parse_error", None)
    await assert_still_serving(raw_peer)


# Item 7: pygls's own -32800 (a request cancelled before it started) carries a reason.
async def test_request_cancelled_before_it_starts_has_a_reason(raw_peer: RawPeer) -> None:
    await initialized(raw_peer)
    await raw_peer.send(
        request_frame({"jsonrpc": "2.0", "id": 5, "method": "store/list"})
        + request_frame({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 5}})
    )
    await assert_answered_with(raw_peer, -32800, "cancelled", 5)
    await raw_peer.request({"jsonrpc": "2.0", "id": 5, "method": "store/list"})
    assert (await raw_peer.response(5))["result"]["items"] == []  # the id is free again


# Items 8 and 9: null and [] are absent params; a non-empty array says params are by name.
@pytest.mark.parametrize("params", [None, []])
async def test_null_and_empty_array_params_are_absent(raw_peer: RawPeer, params: object) -> None:
    await raw_peer.request({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params})
    assert "serverInfo" in (await raw_peer.response(0))["result"]
    await raw_peer.request({"jsonrpc": "2.0", "id": 1, "method": "store/list", "params": params})
    assert (await raw_peer.response(1))["result"]["items"] == []
    await raw_peer.request({"jsonrpc": "2.0", "method": "initialized", "params": params})
    await raw_peer.request({"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": params})
    assert (await raw_peer.response(2))["result"] is None


async def test_positional_params_say_params_are_by_name(raw_peer: RawPeer) -> None:
    await initialized(raw_peer)
    await raw_peer.request({"jsonrpc": "2.0", "id": 1, "method": "store/list", "params": [5]})
    error = (await raw_peer.response(1))["error"]
    assert error["code"] == -32602
    assert error["data"] == {"reason": "invalid_params", "field": "params"}
    assert "by name" in error["message"]


async def run_stdio(
    daemon_env: DaemonEnv, data: bytes, *, init: bool = True, **extra: str
) -> tuple[int, list[dict[str, object]], bytes]:
    """After ``initialize`` (unless ``init`` is false), write ``data`` to a fresh
    ``chatd serve --stdio`` in one write and close stdin; return the exit status, the messages
    written after ``initialize``'s answer, and stderr."""
    process = await asyncio.create_subprocess_exec(
        *daemon_command("serve", "--stdio"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=daemon_env.env(**extra),
    )
    assert process.stdin is not None and process.stdout is not None
    if init:
        await initialized(RawPeer(process.stdout, process.stdin))
    out, err = await asyncio.wait_for(process.communicate(data), 60)
    parser = FrameParser(2**28)
    parser.feed(out)
    messages = []
    while (event := parser.next_event()) is not None:
        assert isinstance(event, Frame), event
        messages.append(json.loads(event.body))
    assert process.returncode is not None
    return process.returncode, messages, err


SHUTDOWN_EXIT = request_frame({"jsonrpc": "2.0", "id": 9, "method": "shutdown"}) + request_frame(
    {"jsonrpc": "2.0", "method": "exit"}
)


# Issue 13, item 9: exit written right behind shutdown, before its reply went out.
async def test_shutdown_and_exit_in_one_write_exit_zero(daemon_env: DaemonEnv) -> None:
    status, messages, _ = await run_stdio(daemon_env, SHUTDOWN_EXIT)
    assert status == 0
    assert messages == [{"jsonrpc": "2.0", "id": 9, "result": None}]


async def test_shutdown_and_exit_in_one_write_on_the_socket(
    daemon_env: DaemonEnv, raw_socket: RawPeer
) -> None:
    await initialized(raw_socket)
    await raw_socket.send(SHUTDOWN_EXIT)
    assert (await raw_socket.response(9))["result"] is None
    with pytest.raises(EOFError):
        await raw_socket.receive()


async def test_null_params_let_jsonrpc_el_shut_down(daemon_env: DaemonEnv) -> None:
    """``(jsonrpc-request conn :shutdown nil)`` then ``(jsonrpc-notify conn :exit nil)``."""
    frames = [
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None},
        {"jsonrpc": "2.0", "method": "exit", "params": None},
    ]
    status, messages, _ = await run_stdio(daemon_env, b"".join(map(request_frame, frames)))
    assert status == 0
    assert messages == [{"jsonrpc": "2.0", "id": 2, "result": None}]


# Item 7: requests still running when the client goes away are answered, with reasons.
async def test_requests_of_a_dropped_stdio_client_answer_with_reasons(
    daemon_env: DaemonEnv,
) -> None:
    frames = [
        {"jsonrpc": "2.0", "id": n, "method": method, "params": params}
        for n, (method, params) in enumerate(
            [("chat/send", {"message": "slow"}), ("store/list", {}), ("daemon/status", {})]
        )
    ]
    status, messages, _ = await run_stdio(
        daemon_env, b"".join(map(request_frame, frames)), CHATD_ECHO_DELAY_MS="200"
    )
    assert status == 0
    responses = [m for m in messages if "method" not in m]
    assert sorted(m["id"] for m in responses) == [0, 1, 2]
    for message in responses:
        if "error" in message:
            assert message["error"]["data"]["reason"], message


# Item 10: in stdio mode a normal run writes nothing to stderr, unless asked to.
async def test_stdio_logs_nothing_by_default(daemon_env: DaemonEnv) -> None:
    send = {"jsonrpc": "2.0", "id": 1, "method": "chat/send", "params": {"message": "hi"}}
    data = request_frame(send) + SHUTDOWN_EXIT
    status, messages, stderr = await run_stdio(daemon_env, data)
    assert status == 0 and stderr == b""
    daemon_env.config.write_text('[daemon]\nlog_level = "info"\n')
    status, messages, stderr = await run_stdio(daemon_env, data)
    assert status == 0 and b"INFO" in stderr
