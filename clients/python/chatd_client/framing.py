"""LSP base-protocol framing without I/O: bytes in, frames or framing errors out.

Shared by the client and the daemon so both ends read the wire the same way. Header names
are matched case-insensitively, ``\\n`` line ends are tolerated, UTF-8 (alias ``utf8``) is the
only charset, and a body over ``max_body`` bytes is skipped as it arrives, never buffered,
so one bad frame costs one error, not the connection.

Bodies are decoded here too (``decode_body``), with the limits that keep a hostile frame from
costing more than one error: strict UTF-8 (no encoded surrogates), standard JSON numbers only
(no ``NaN``/``Infinity``, no number that overflows to infinity) and at most ``MAX_DEPTH``
levels of nesting; ``has_lone_surrogate`` finds the strings that are valid JSON but no text.
``encode_frame`` writes only what a strict parser on the other end accepts, or raises (or, when
asked, writes a lone surrogate as U+FFFD).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

MAX_HEADER_BYTES = 8 * 1024
"""Real headers are under 100 bytes; more is garbage we should not buffer."""

MAX_LENGTH_DIGITS = 15
"""A petabyte; a longer ``Content-Length`` is no real length (and ``int()`` refuses 4,300)."""

MAX_DEPTH = 128
"""Real messages nest under 20 levels (a tool's JSON schema is the deepest); everything that
walks a message recurses, and Python's stack holds about 1,000 frames."""

_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Frame:
    body: bytes


@dataclass(frozen=True, slots=True)
class FramingError:
    """A frame that could not be read; the stream is already positioned after it."""

    reason: str
    """``bad_header``, ``frame_too_large`` or ``bad_charset``."""
    message: str


class BodyError(ValueError):
    """A frame's body that is not a JSON value we accept; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def encode_frame(
    message: Any, default: Any = None, *, replace_lone_surrogates: bool = False
) -> bytes:
    """Frame ``message`` as strict JSON in UTF-8.

    :raises ValueError: a NaN or infinite number, or a lone surrogate in a string (unless
        ``replace_lone_surrogates``).
    """
    text = json.dumps(
        message, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=default
    )
    body = (without_lone_surrogates(text) if replace_lone_surrogates else text).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def without_lone_surrogates(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD, as a UTF-8 decoder replaces what
    it cannot read: the rest of the text survives, and strict parsers accept it."""
    return _SURROGATE.sub("\ufffd", text)


def decode_body(body: bytes) -> Any:
    """The JSON value of a frame's body.

    :raises BodyError: not strict UTF-8, not standard JSON, or nested too deep.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(f"the body is not valid UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise BodyError(f"the body nests deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise BodyError(f"the body is not JSON: {exc}") from None
    _check_depth(value)
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:20]} is out of range")
    return number


def _check_depth(value: Any) -> None:
    """Walked without recursion: the value may be hostile."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise BodyError(f"the body nests deeper than {MAX_DEPTH} levels")
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)


def has_lone_surrogate(value: Any) -> bool:
    """Whether a string in ``value`` holds a lone surrogate: valid JSON (``"\\ud800"``), but
    no Unicode text, so it can be neither encoded as UTF-8 nor stored."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


class FrameParser:
    """Feed it bytes; take frames and errors out with ``next_event`` until it returns None."""

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self._buffer = bytearray()
        self._body_length: int | None = None
        self._skip = 0

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def next_event(self) -> Frame | FramingError | None:
        while True:
            if self._skip:
                dropped = min(self._skip, len(self._buffer))
                del self._buffer[:dropped]
                self._skip -= dropped
                if self._skip:
                    return None
            if self._body_length is not None:
                return self._take_body()
            header_end = self._find_header_end()
            if header_end is None:
                if len(self._buffer) > MAX_HEADER_BYTES:
                    self._buffer.clear()
                    return FramingError("bad_header", "header section too long")
                return None
            raw_headers = bytes(self._buffer[: header_end[0]])
            del self._buffer[: header_end[1]]
            if not raw_headers.strip():
                continue
            outcome = self._parse_headers(raw_headers)
            if outcome is not None:
                return outcome

    def _find_header_end(self) -> tuple[int, int] | None:
        crlf = self._buffer.find(b"\r\n\r\n")
        lf = self._buffer.find(b"\n\n")
        candidates = [(crlf, crlf + 4)] if crlf >= 0 else []
        candidates += [(lf, lf + 2)] if lf >= 0 else []
        return min(candidates) if candidates else None

    def _parse_headers(self, raw: bytes) -> FramingError | None:
        headers: dict[str, str] = {}
        for line in raw.replace(b"\r\n", b"\n").split(b"\n"):
            name, colon, value = line.partition(b":")
            if not colon:
                return FramingError("bad_header", f"malformed header line {_shown(line)}")
            headers[name.strip().decode("latin-1").lower()] = value.strip().decode("latin-1")
        length_text = headers.get("content-length")
        if length_text is None or not _is_length(length_text):
            return FramingError("bad_header", "missing or invalid Content-Length header")
        length = int(length_text)
        charset = _charset(headers.get("content-type", ""))
        if charset not in ("utf-8", "utf8"):
            self._skip = length
            return FramingError("bad_charset", f"unsupported charset {charset!r}; use utf-8")
        if length > self.max_body:
            self._skip = length
            return FramingError(
                "frame_too_large", f"frame of {length} bytes exceeds the limit of {self.max_body}"
            )
        self._body_length = length
        return None

    def _take_body(self) -> Frame | None:
        length = self._body_length
        assert length is not None
        if len(self._buffer) < length:
            return None
        body = bytes(self._buffer[:length])
        del self._buffer[:length]
        self._body_length = None
        return Frame(body)


def _is_length(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also takes superscripts that ``int`` refuses."""
    return text.isascii() and text.isdigit() and len(text) <= MAX_LENGTH_DIGITS


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return "utf-8"


def _shown(line: bytes) -> str:
    return repr(line[:40].decode("latin-1"))
