"""docs/protocol.md is the wire contract: it must name every method, code and reason we send."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chatd import errors
from chatd.rpc import errors as codes
from chatd_client import framing

DOC = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text()
SERVED_METHODS = [
    "initialize",
    "shutdown",
    "daemon/stop",
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
    "tools/register",
    "tools/unregister",
    "tools/list",
    "tools/policy/list",
    "tools/policy/revoke",
]


def error_rows() -> set[tuple[int, str]]:
    return {
        (int(code), reason)
        for code, reason in re.findall(r"^\| (-\d+) \| `(\w+)` \|", DOC, re.MULTILINE)
    }


def all_error_classes() -> list[type[errors.ChatdError]]:
    found, pending = [], [errors.ChatdError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_the_method_table_matches_the_served_methods() -> None:
    from chatd.rpc.methods import Methods
    from chatd.rpc.tool_methods import ToolMethods

    table = Methods.__new__(Methods)
    table.tool_methods = ToolMethods.__new__(ToolMethods)
    assert sorted(Methods.table(table)) == sorted(SERVED_METHODS)


@pytest.mark.parametrize(
    "method", [*SERVED_METHODS, "exit", "chat/update", "tool/call", "tool/approve"]
)
def test_every_method_has_a_section(method: str) -> None:
    assert re.search(rf"^### `{re.escape(method)}`", DOC, re.MULTILINE), method


def test_every_core_error_maps_to_a_documented_code_and_reason() -> None:
    rows = error_rows()
    for cls in all_error_classes():
        if cls.__module__ != "chatd.errors" or cls in (errors.ChatdError, errors.SessionError):
            continue
        code = codes.code_for(cls.__new__(cls))
        assert (code, cls.reason) in rows, (cls, code, cls.reason)


WIRE_REASONS = [
    "parse_error",
    "invalid_request",
    "batch_not_supported",
    "bad_header",
    "bad_charset",
    "frame_too_large",
    "duplicate_id",
    "already_initialized",
    "shutting_down",
    "method_not_found",
    "not_initialized",
    "cancelled",
    "internal_error",
]


@pytest.mark.parametrize("reason", WIRE_REASONS)
def test_every_wire_reason_is_sent_and_documented(reason: str) -> None:
    sources = [*Path(codes.__file__).parent.glob("*.py"), Path(framing.__file__)]
    assert any(f'"{reason}"' in path.read_text() for path in sources), reason
    assert reason in {documented for _, documented in error_rows()}
