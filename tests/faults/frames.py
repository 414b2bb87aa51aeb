"""Hypothesis strategies for hostile and odd frames, each with the reply it must get.

A fuzzed frame knows what the daemon owes it: ``NO_REPLY`` (notifications, responses from
the client), ``NULL_ID`` (exactly one error with ``id: null``: framing junk, bodies that are no
JSON or no request, ids that cannot be echoed) or its own id (exactly one response). Ids come
from one counter, so they never collide; the strategies never send ``exit``, ``shutdown`` or
``daemon/stop``, which end what is being fuzzed.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

NO_REPLY = "no reply"
NULL_ID = "null id"
MAX_FRAME = 4096
"""The fuzzed daemon's ``daemon.max_frame_bytes``: oversized frames stay cheap."""

_ids = itertools.count(1)

METHODS = [
    "initialize",
    "daemon/status",
    "chat/new",
    "chat/send",
    "chat/save",
    "chat/restore",
    "chat/history",
    "chat/cancel",
    "chat/close",
    "store/list",
    "store/delete",
    "no/such",
    "$/unknown",
    "",
]
ENDINGS = ("shutdown", "exit", "daemon/stop")
"""Never fuzzed (Hypothesis also draws strings it finds in chatd's own code)."""
SAFE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters=":"))
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=12)
"""Unicode text including lone surrogates."""


@dataclass(frozen=True)
class Fuzzed:
    data: bytes
    expect: Any


def json_values(text: st.SearchStrategy[str] = ANY_TEXT) -> st.SearchStrategy[Any]:
    leaves = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats(allow_nan=False, allow_infinity=False)
        | text
    )
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4)
        ),
        max_leaves=12,
    )


@st.composite
def unique_ids(draw: st.DrawFn) -> Any:
    n = next(_ids)
    kind = draw(st.sampled_from(["int", "big", "negative", "float", "text"]))
    if kind == "int":
        return n
    if kind == "big":
        return 2**62 + n
    if kind == "negative":
        return -n
    if kind == "float":
        return n + 0.5
    return f"{draw(st.text(max_size=8))}#{n}"


@st.composite
def framed(draw: st.DrawFn, body: bytes) -> bytes:
    """A well-formed frame around ``body``, with the header habits of real clients."""
    name = draw(st.sampled_from(["Content-Length", "content-length", "CONTENT-LENGTH"]))
    end = draw(st.sampled_from([b"\r\n", b"\n"]))
    lines = [b"%s: %d" % (name.encode(), len(body))]
    if draw(st.booleans()):
        charset = draw(
            st.sampled_from(["", "; charset=utf-8", "; charset=utf8", '; charset="UTF-8"'])
        )
        lines.append(b"Content-Type: application/vscode-jsonrpc" + charset.encode())
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), b"X-" + draw(SAFE).encode() + b": 1")
    return end.join(lines) + end + end + body


@st.composite
def encoded(draw: st.DrawFn, message: Any, expect: Any) -> Fuzzed:
    """``message`` as escaped ASCII or raw UTF-8; a lone surrogate written raw is no UTF-8."""
    if draw(st.booleans()):
        body = json.dumps(message).encode()
    else:
        body = json.dumps(message, ensure_ascii=False).encode("utf-8", "surrogatepass")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            expect = NULL_ID
    return Fuzzed(draw(framed(body)), expect)


@st.composite
def requests(draw: st.DrawFn) -> Fuzzed:
    """Valid requests with any method and params: exactly one response each."""
    request_id = draw(unique_ids())
    method = draw(
        st.sampled_from(METHODS) | st.text(max_size=10).filter(lambda m: m not in ENDINGS)
    )
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    params = draw(
        st.none()
        | st.just([])
        | st.dictionaries(ANY_TEXT, json_values(), max_size=4)
        | st.lists(json_values(), min_size=1, max_size=3)
        | st.fixed_dictionaries({"message": ANY_TEXT})
        | st.fixed_dictionaries({"limit": st.integers(-5, 300), "cursor": json_values()})
        | st.just("absent")
    )
    if params != "absent":
        message["params"] = params
    if draw(st.booleans()):
        message["extra"] = draw(json_values())
    return draw(encoded(message, request_id))


@st.composite
def notifications(draw: st.DrawFn) -> Fuzzed:
    method = draw(st.sampled_from(["initialized", "$/cancelRequest", "$/setTrace", "no/such"]))
    params = draw(st.none() | st.dictionaries(ANY_TEXT, json_values(), max_size=3))
    if method == "$/cancelRequest":
        params = {"id": draw(st.integers(1, 10_000) | json_values())}
    return draw(encoded({"jsonrpc": "2.0", "method": method, "params": params}, NO_REPLY))


@st.composite
def client_responses(draw: st.DrawFn) -> Fuzzed:
    """Responses to requests the daemon never sent, well- or malformed: never answered."""
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": draw(unique_ids())}
    if draw(st.booleans()):
        message["result"] = draw(json_values())
    else:
        message["error"] = draw(
            json_values()
            | st.fixed_dictionaries(
                {"code": json_values() | st.integers(), "message": json_values()}
            )
        )
    return draw(encoded(message, NO_REPLY))


@st.composite
def bad_requests(draw: st.DrawFn) -> Fuzzed:
    """JSON, but no acceptable request: one error each, echoing the id when it can."""
    request_id = draw(unique_ids())
    broken = draw(
        st.sampled_from(
            ["no version", "old version", "method type", "params type", "no method", "both"]
        )
    )
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": "store/list"}
    if broken == "no version":
        del message["jsonrpc"]
    elif broken == "old version":
        message["jsonrpc"] = draw(json_values())
        if message["jsonrpc"] == "2.0":
            message["jsonrpc"] = "1.0"
    elif broken == "method type":
        message["method"] = draw(st.integers() | st.none() | st.lists(st.integers()))
    elif broken == "params type":
        message["params"] = draw(st.integers() | st.text() | st.booleans())
    elif broken == "no method":
        del message["method"]
    else:
        del message["method"]
        message.update(result=1, error={"code": 1, "message": "x"})
    return draw(encoded(message, request_id))


@st.composite
def unechoable_ids(draw: st.DrawFn) -> Fuzzed:
    raw = draw(
        st.sampled_from(
            [b'"\\ud800"', b'"a\\udfffb"', b"true", b"null", b"{}", b"[1]", b"NaN", b"1e999"]
        )
    )
    body = b'{"jsonrpc":"2.0","id":%s,"method":"store/list","params":{}}' % raw
    return Fuzzed(draw(framed(body)), NULL_ID)


@st.composite
def garbage_bodies(draw: st.DrawFn) -> Fuzzed:
    """Bodies that are no JSON, no strict JSON, too deep, or not an object."""
    depth = draw(st.integers(129, 3_000))
    body = draw(
        st.binary(max_size=64).map(lambda b: b"#" + b)
        | st.just(b"")
        | st.binary(min_size=1, max_size=8).map(lambda b: b'{"jsonrpc":"2.0","x":"\xff' + b + b'"}')
        | st.just(
            b'{"jsonrpc":"2.0","id":1,"method":"chat/send","params":{"message":"\xed\xa0\x80"}}'
        )
        | st.just(b"[" * depth + b"]" * depth)
        | st.just(
            b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":%s}}'
            % (b"[" * depth + b"]" * depth)
        )
        | st.sampled_from([b"NaN", b"[Infinity]", b'{"a":-Infinity}', b"1e400", b"9" * 5000])
        | json_values(st.text(max_size=8))
        .filter(lambda v: not isinstance(v, dict))
        .map(lambda v: json.dumps(v).encode())
        | st.just(b'[{"jsonrpc":"2.0","id":1,"method":"store/list"}]')
        | st.just(b"\xef\xbb\xbf{}")
    )
    return Fuzzed(draw(framed(body)), NULL_ID)


@st.composite
def header_junk(draw: st.DrawFn) -> Fuzzed:
    """Framing errors: each is one ``id: null`` error and leaves the stream at the next frame."""
    junk = draw(
        st.sampled_from(["\u00b2", "\u0663", "abc", "-1", "+5", "1_0", "0x10", "", "9" * 5000]).map(
            lambda length: b"Content-Length: " + length.encode() + b"\r\n\r\n"
        )
        | SAFE.map(lambda text: b"X-" + text.encode() + b": 1\r\n\r\n")
        | SAFE.filter(lambda text: text.strip() != "").map(lambda text: text.encode() + b"\r\n\r\n")
        | st.integers(MAX_FRAME + 1, 3 * MAX_FRAME).map(
            lambda n: b"Content-Length: %d\r\n\r\n%s" % (n, b"x" * n)
        )
        | st.sampled_from([b"latin-1", b"utf-16", b"ascii"]).map(
            lambda charset: (
                b"Content-Length: 2\r\nContent-Type: a/b; charset=%s\r\n\r\n{}" % charset
            )
        )
    )
    return Fuzzed(junk, NULL_ID)


FRAMES = st.one_of(
    requests(),
    requests(),
    notifications(),
    client_responses(),
    bad_requests(),
    unechoable_ids(),
    garbage_bodies(),
    header_junk(),
)
