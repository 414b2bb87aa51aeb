"""The frame parser: any split of the byte stream gives the same frames and errors."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from chatd_client.framing import Frame, FrameParser, FramingError, encode_frame


def events(parser: FrameParser, *chunks: bytes) -> list[Frame | FramingError]:
    found: list[Frame | FramingError] = []
    for chunk in chunks:
        parser.feed(chunk)
        while (event := parser.next_event()) is not None:
            found.append(event)
    return found


messages = st.lists(
    st.dictionaries(st.text(max_size=5), st.text(max_size=20), max_size=3), max_size=5
)


@given(messages, st.lists(st.integers(min_value=0, max_value=400), max_size=10))
def test_any_split_gives_the_same_frames(bodies: list[dict[str, str]], cuts: list[int]) -> None:
    stream = b"".join(encode_frame(body) for body in bodies)
    points = sorted({min(cut, len(stream)) for cut in cuts})
    pieces = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    found = events(FrameParser(2**20), *pieces)
    assert [json.loads(e.body) for e in found if isinstance(e, Frame)] == bodies


def test_header_names_are_case_insensitive_and_lf_is_tolerated() -> None:
    found = events(FrameParser(1024), b"CONTENT-LENGTH: 2\n\n{}content-length:2\r\n\r\n[]")
    assert found == [Frame(b"{}"), Frame(b"[]")]


def test_oversized_body_is_skipped_not_buffered() -> None:
    parser = FrameParser(10)
    assert events(parser, b"Content-Length: 20\r\n\r\n") == [
        FramingError("frame_too_large", "frame of 20 bytes exceeds the limit of 10")
    ]
    assert events(parser, b"x" * 15) == []
    assert events(parser, b"y" * 5 + encode_frame({})) == [Frame(b"{}")]


def test_bad_headers_and_charsets() -> None:
    parser = FrameParser(100)
    found = events(
        parser,
        b"Content-Length: x\r\n\r\n",
        b"garbage\r\n\r\n",
        b"Content-Length: 2\r\nContent-Type: a; charset=latin-1\r\n\r\n{}",
        encode_frame([1]),
    )
    assert [getattr(e, "reason", None) for e in found] == [
        "bad_header",
        "bad_header",
        "bad_charset",
        None,
    ]
    assert found[-1] == Frame(b"[1]")


def test_endless_header_is_cut_off() -> None:
    found = events(FrameParser(100), b"X" * 9000)
    assert found == [FramingError("bad_header", "header section too long")]


def test_content_length_must_be_ascii_digits() -> None:
    for length in ("\u00b2", "\u0663", "9" * 5_000):
        found = events(FrameParser(1024), f"Content-Length: {length}\r\n\r\n".encode())
        assert [e.reason for e in found if isinstance(e, FramingError)] == ["bad_header"]


def test_decode_body_limits() -> None:
    import pytest

    from chatd_client.framing import MAX_DEPTH, BodyError, decode_body, has_lone_surrogate

    assert decode_body(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None
    for bad in (
        b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
        b"[" * 50_000,
        b"NaN",
        b"[-Infinity]",
        b"1e999",
        b'"\xed\xa0\x80"',
        b"\xff",
        b"9" * 5_000,
    ):
        with pytest.raises(BodyError):
            decode_body(bad)
    assert has_lone_surrogate(decode_body(b'{"a":["\\ud800"]}'))
    assert not has_lone_surrogate(decode_body(b'{"a":["\\ud83d\\ude00"]}'))
