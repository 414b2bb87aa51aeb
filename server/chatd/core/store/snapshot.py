"""Snapshot ⇄ file bytes: id validation, RFC 3339 times, and the reference's JSON layout.

The JSON keys and their order follow the reference (go-tool-base ``chat``): ``id``, ``provider``,
``model``, ``system_prompt``, ``messages``, ``tools``, ``metadata``, ``created_at``, ``version``,
with Go's ``omitempty`` on ``system_prompt``, ``tools`` and ``metadata``. Our keys follow, then
any keys we do not know, kept from the file we read so a round trip loses nothing.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from chatd.core.store.base import SNAPSHOT_VERSION, Snapshot, SnapshotSummary, ToolSpec
from chatd.core.store.migrations import migrate
from chatd.errors import CorruptSnapshot, InvalidSnapshotId, UnsupportedVersion

SNAPSHOT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""A canonical lowercase UUID; nothing else may become a file name."""

SNAPSHOT_SUFFIX = ".json"
"""A snapshot's file is ``<id>.json``, encrypted or not, as in the reference."""

SHOWN_INPUT_CHARS = 40
"""Untrusted text quoted in an error is cut here: enough to recognise, too little to flood a log."""

KNOWN_KEYS = frozenset(
    {"id", "provider", "model", "system_prompt", "messages", "tools", "metadata", "created_at"}
    | {"version", "updated_at", "revision", "title", "usage"}
)

_EPOCH = datetime(1, 1, 1, tzinfo=UTC)
_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})"
)


def shorten(text: str) -> str:
    """``text`` cut by characters (never inside one) and quoted, for error messages."""
    if len(text) > SHOWN_INPUT_CHARS:
        text = text[:SHOWN_INPUT_CHARS] + "…"
    return repr(text)


def validate_snapshot_id(snapshot_id: object) -> str:
    """:raises InvalidSnapshotId: ``snapshot_id`` is not a canonical lowercase UUID."""
    if not isinstance(snapshot_id, str) or not snapshot_id:
        raise InvalidSnapshotId("snapshot id is empty")
    if not SNAPSHOT_ID.fullmatch(snapshot_id):
        raise InvalidSnapshotId(
            f"snapshot id {shorten(snapshot_id)} is not a canonical lowercase UUID"
        )
    return snapshot_id


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC the way Go's ``time.Time`` writes it (fraction without trailing zeros)."""
    moment = moment.astimezone(UTC)
    text = moment.replace(tzinfo=None).isoformat(timespec="seconds")
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_time(text: str) -> datetime:
    """RFC 3339 as Go writes it; nanoseconds are cut to Python's microseconds.

    :raises ValueError: not an RFC 3339 time with a zone.
    """
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(f"{shorten(text)} is not an RFC 3339 time")
    date, clock, fraction, zone = match.groups()
    micros = (fraction or "0")[:6].ljust(6, "0")
    zone = "+00:00" if zone in ("Z", "z") else zone
    try:
        return datetime.fromisoformat(f"{date}T{clock}.{micros}{zone}").astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{shorten(text)} is out of range") from None


def time_to_micros(moment: datetime) -> int:
    """Microseconds since year 1: a non-negative integer that sorts like the time."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def micros_to_time(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def to_document(snapshot: Snapshot) -> dict[str, Any]:
    """The JSON object for ``snapshot``, keys in the reference's order, then ours."""
    doc: dict[str, Any] = {
        "id": snapshot.id,
        "provider": snapshot.provider,
        "model": snapshot.model,
    }
    if snapshot.system_prompt:
        doc["system_prompt"] = snapshot.system_prompt
    doc["messages"] = snapshot.messages
    if snapshot.tools:
        doc["tools"] = [_tool_document(tool) for tool in snapshot.tools]
    if snapshot.metadata:
        doc["metadata"] = snapshot.metadata
    doc["created_at"] = format_time(snapshot.created_at)
    doc["version"] = SNAPSHOT_VERSION
    doc["updated_at"] = format_time(snapshot.updated_at)
    doc["revision"] = snapshot.revision
    if snapshot.title is not None:
        doc["title"] = snapshot.title
    if snapshot.usage:
        doc["usage"] = snapshot.usage
    doc.update((key, value) for key, value in snapshot.extra.items() if key not in KNOWN_KEYS)
    return doc


def _tool_document(tool: ToolSpec) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": tool.name, "description": tool.description}
    if tool.parameters is not None:
        doc["parameters"] = tool.parameters
    if tool.approval != "auto":
        doc["approval"] = tool.approval
    if tool.timeout_ms is not None:
        doc["timeout_ms"] = tool.timeout_ms
    if tool.source != "client":
        doc["source"] = tool.source
    return doc


def encode_json(value: Any, *, pretty: bool) -> bytes:
    """UTF-8 JSON; strings Python holds but UTF-8 cannot (lone surrogates) fall back to escapes.

    :raises ValueError: NaN or infinity, which JSON (and Go) cannot read.
    """
    indent = 2 if pretty else None
    separators = (",", ": ") if pretty else (",", ":")
    try:
        text = json.dumps(
            value, indent=indent, separators=separators, ensure_ascii=False, allow_nan=False
        )
        return text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value, indent=indent, separators=separators, allow_nan=False)
        return text.encode("ascii")


def parse_document(data: bytes, *, file: str) -> dict[str, Any]:
    """:raises CorruptSnapshot: not a JSON object."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise CorruptSnapshot(f"{file} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise CorruptSnapshot(f"{file} does not hold a JSON object")
    return doc


def from_document(doc: dict[str, Any], *, snapshot_id: str, file: str) -> Snapshot:
    """Check, migrate and type a decoded snapshot file.

    :raises UnsupportedVersion: written by a newer chatd.
    :raises CorruptSnapshot: a field is missing or of the wrong type, or the id inside is not
        the file's (the file name is what was validated; the content is not trusted).
    """
    fields = _Fields(doc, file)
    version = fields.get("version", int)
    if version is None or version < 1:
        raise CorruptSnapshot(f"{file} has no valid version")
    if version > SNAPSHOT_VERSION:
        raise UnsupportedVersion(
            f"{file} was written by a newer chatd (snapshot version {version}; this chatd reads "
            f"up to {SNAPSHOT_VERSION}): upgrade chatd to open it",
            found=version,
            supported=SNAPSHOT_VERSION,
        )
    fields = _Fields(migrate(doc, version), file)
    if fields.require("id", str) != snapshot_id:
        raise CorruptSnapshot(
            f"{file}: the id inside ({shorten(str(doc.get('id')))}) does not match the file name"
        )
    messages = fields.get("messages", list)
    revision = fields.require("revision", int)
    if revision < 1:
        raise CorruptSnapshot(f"{file}: revision must be at least 1")
    return Snapshot(
        id=snapshot_id,
        provider=fields.require("provider", str),
        model=fields.get("model", str) or "",
        system_prompt=fields.get("system_prompt", str) or "",
        messages=[] if messages is None else messages,
        tools=tuple(_tool(item, file) for item in fields.get("tools", list) or ()),
        metadata=fields.string_map("metadata", str),
        created_at=fields.time("created_at"),
        updated_at=fields.time("updated_at"),
        title=fields.get("title", str),
        revision=revision,
        usage=fields.string_map("usage", int),
        extra={key: value for key, value in doc.items() if key not in KNOWN_KEYS},
    )


def summarize(snapshot: Snapshot) -> SnapshotSummary:
    return SnapshotSummary(
        id=snapshot.id,
        provider=snapshot.provider,
        model=snapshot.model,
        title=snapshot.title,
        created_at=snapshot.created_at,
        updated_at=snapshot.updated_at,
        message_count=len(snapshot.messages),
        metadata=snapshot.metadata,
        revision=snapshot.revision,
    )


def _tool(item: Any, file: str) -> ToolSpec:
    if not isinstance(item, dict):
        raise CorruptSnapshot(f"{file}: each tool must be a JSON object")
    fields = _Fields(item, f"{file}: tool")
    return ToolSpec(
        name=fields.require("name", str),
        description=fields.get("description", str) or "",
        parameters=fields.get("parameters", dict),
        approval=fields.get("approval", str) or "auto",
        timeout_ms=fields.get("timeout_ms", int),
        source=fields.get("source", str) or "client",
    )


class _Fields:
    """Typed access to a decoded JSON object; every mismatch is a CorruptSnapshot naming it."""

    def __init__(self, doc: dict[str, Any], where: str) -> None:
        self._doc = doc
        self._where = where

    def get(self, key: str, kind: type[Any]) -> Any:
        value = self._doc.get(key)
        if value is not None and not _is(value, kind):
            raise CorruptSnapshot(f"{self._where}: {key} must be a {_JSON_NAMES[kind]}")
        return value

    def require(self, key: str, kind: type[Any]) -> Any:
        value = self.get(key, kind)
        if value is None:
            raise CorruptSnapshot(f"{self._where}: {key} is missing")
        return value

    def string_map(self, key: str, kind: type[Any]) -> dict[str, Any]:
        value = self.get(key, dict) or {}
        if not all(_is(item, kind) for item in value.values()):
            raise CorruptSnapshot(f"{self._where}: every {key} value must be a {_JSON_NAMES[kind]}")
        return dict(value)

    def time(self, key: str) -> datetime:
        try:
            return parse_time(self.require(key, str))
        except ValueError as exc:
            raise CorruptSnapshot(f"{self._where}: {key}: {exc}") from None


_JSON_NAMES: dict[type[Any], str] = {str: "string", int: "integer", list: "array", dict: "object"}


def _is(value: Any, kind: type[Any]) -> bool:
    return isinstance(value, kind) and not (kind is int and isinstance(value, bool))
