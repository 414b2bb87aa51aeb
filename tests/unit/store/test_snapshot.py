"""Snapshot ids, times, the JSON layout and migrations, without a store."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from chatd.core.store.base import SNAPSHOT_VERSION
from chatd.core.store.migrations import MIGRATIONS, m002_add_revision, migrate
from chatd.core.store.snapshot import (
    encode_json,
    format_time,
    from_document,
    parse_time,
    to_document,
    validate_snapshot_id,
)
from chatd.errors import CorruptSnapshot, InvalidSnapshotId, UnsupportedVersion

from .conftest import make_snapshot

GOOD_ID = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"

BAD_IDS = [
    "",
    "..",
    "/",
    ".",
    "../../etc/passwd",
    "/etc/passwd",
    "a/b",
    f"../{GOOD_ID}",
    f"{GOOD_ID}/..",
    GOOD_ID.upper(),
    "0A1B2C3D-4E5F-6789-ABCD-EF0123456789",
    GOOD_ID + "\x00",
    "\x00" + GOOD_ID[1:],
    " " + GOOD_ID,
    GOOD_ID + "\n",
    GOOD_ID.replace("a", "\u0430"),  # Cyrillic а
    GOOD_ID.replace("0", "\uff10"),  # fullwidth digit zero
    GOOD_ID.replace("-", "\u2010"),  # hyphen look-alike
    GOOD_ID[:-1],
    GOOD_ID + "0",
    GOOD_ID.replace("-", ""),
    "0a1b2c3d4-e5f-6789-abcd-ef0123456789",
    "0a1b2c3d\\4e5f\\6789\\abcd\\ef0123456789",
    "ga1b2c3d-4e5f-6789-abcd-ef0123456789",
    "{0a1b2c3d-4e5f-6789-abcd-ef0123456789}",
]


@pytest.mark.parametrize("snapshot_id", [GOOD_ID, "00000000-0000-0000-0000-000000000000"])
def test_canonical_ids_are_accepted(snapshot_id: str) -> None:
    assert validate_snapshot_id(snapshot_id) == snapshot_id


def test_every_uuid4_is_accepted() -> None:
    for _ in range(100):
        validate_snapshot_id(str(uuid.uuid4()))


@pytest.mark.parametrize("snapshot_id", BAD_IDS)
def test_malformed_ids_are_rejected(snapshot_id: str) -> None:
    with pytest.raises(InvalidSnapshotId):
        validate_snapshot_id(snapshot_id)


def test_non_strings_are_rejected() -> None:
    with pytest.raises(InvalidSnapshotId, match="empty"):
        validate_snapshot_id(None)


@pytest.mark.parametrize("text", ["x" * 200, "é" * 200, "🙂" * 200, "\x00" * 200])
def test_long_ids_are_cut_by_characters_in_messages(text: str) -> None:
    with pytest.raises(InvalidSnapshotId) as caught:
        validate_snapshot_id(text)
    message = caught.value.message
    assert "…" in message
    assert len(message) < 60 + 4 * 41  # 40 characters shown, each escaped to at most 4
    assert text[:40] in message or repr(text[:40])[1:-1] in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-26T10:00:00.123456789Z", datetime(2026, 3, 26, 10, 0, 0, 123456, UTC)),
        ("2026-03-26T10:00:00Z", datetime(2026, 3, 26, 10, tzinfo=UTC)),
        ("2026-03-26t10:00:00.5z", datetime(2026, 3, 26, 10, 0, 0, 500000, UTC)),
        ("2026-03-26T12:00:00.1+02:00", datetime(2026, 3, 26, 10, 0, 0, 100000, UTC)),
        ("2026-03-26T05:30:00-04:30", datetime(2026, 3, 26, 10, tzinfo=UTC)),
    ],
)
def test_go_time_formats_parse_to_utc(text: str, expected: datetime) -> None:
    parsed = parse_time(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text", ["2026-03-26T10:00:00", "2026-03-26", "yesterday", "0001-01-01T00:00:00+02:00", ""]
)
def test_times_without_zone_or_out_of_range_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text)


def test_times_are_written_like_go() -> None:
    assert format_time(datetime(2026, 3, 26, 10, tzinfo=UTC)) == "2026-03-26T10:00:00Z"
    moment = datetime(2026, 3, 26, 12, 0, 0, 120000, timezone(timedelta(hours=2)))
    assert format_time(moment) == "2026-03-26T10:00:00.12Z"
    assert format_time(datetime(999, 1, 1, tzinfo=UTC)) == "0999-01-01T00:00:00Z"


def test_document_keys_follow_the_reference_then_ours() -> None:
    snapshot = make_snapshot(revision=3, usage={"input_tokens": 5}, extra={"zz_future": [1]})
    text = encode_json(to_document(snapshot), pretty=True).decode()
    assert list(json.loads(text)) == [
        "id",
        "provider",
        "model",
        "system_prompt",
        "messages",
        "tools",
        "metadata",
        "created_at",
        "version",
        "updated_at",
        "revision",
        "title",
        "usage",
        "zz_future",
    ]
    assert text.startswith('{\n  "id": ')
    assert '\n    {\n      "role": "user",' in text


def test_empty_fields_are_omitted_like_go() -> None:
    snapshot = make_snapshot(system_prompt="", tools=(), metadata={}, title=None)
    assert list(to_document(snapshot)) == [
        "id",
        "provider",
        "model",
        "messages",
        "created_at",
        "version",
        "updated_at",
        "revision",
    ]


def test_unencodable_strings_fall_back_to_escapes() -> None:
    data = encode_json({"text": "a\ud800b"}, pretty=False)
    assert json.loads(data) == {"text": "a\ud800b"}


def test_nan_is_refused() -> None:
    with pytest.raises(ValueError):
        encode_json({"x": float("nan")}, pretty=False)


def reference_document() -> dict[str, object]:
    return {
        "id": GOOD_ID,
        "provider": "gemini",
        "model": "gemini-2.5-flash",
        "messages": [{"role": "user", "parts": [{"text": "hi"}]}],
        "created_at": "2026-03-26T10:00:00.123456789Z",
        "version": 1,
    }


def test_version_1_migrates_to_revision_1_updated_at_creation() -> None:
    snapshot = from_document(reference_document(), snapshot_id=GOOD_ID, file="f")
    assert snapshot.revision == 1
    assert snapshot.updated_at == snapshot.created_at
    assert snapshot.version == SNAPSHOT_VERSION
    assert snapshot.extra == {}
    assert snapshot.title is None


def test_migrations_are_named_and_applied_in_order() -> None:
    assert MIGRATIONS == {2: m002_add_revision}
    migrated = migrate(reference_document(), 1)
    assert migrated["version"] == 2 and migrated["revision"] == 1
    assert migrate(dict(migrated), 2) == migrated


def test_a_newer_version_is_unsupported_with_a_clear_message() -> None:
    doc = reference_document() | {"version": SNAPSHOT_VERSION + 1}
    with pytest.raises(UnsupportedVersion, match="newer chatd") as caught:
        from_document(doc, snapshot_id=GOOD_ID, file="f")
    assert caught.value.details() == {"found": SNAPSHOT_VERSION + 1, "supported": SNAPSHOT_VERSION}


@pytest.mark.parametrize(
    "change",
    [
        {"version": None},
        {"version": 0},
        {"version": "1"},
        {"id": "11111111-1111-1111-1111-111111111111"},
        {"id": "../../etc/passwd"},
        {"provider": None},
        {"provider": 3},
        {"messages": {"role": "user"}},
        {"metadata": {"a": 1}},
        {"tools": [{"description": "no name"}]},
        {"tools": ["lookup"]},
        {"created_at": "yesterday"},
        {"revision": 0},
        {"revision": True},
        {"usage": {"tokens": "many"}},
        {"title": ["a"]},
    ],
)
def test_wrong_shapes_are_corrupt(change: dict[str, object]) -> None:
    doc = {
        key: value for key, value in (reference_document() | change).items() if value is not None
    }
    with pytest.raises(CorruptSnapshot):
        from_document(doc, snapshot_id=GOOD_ID, file="f")


def test_null_messages_read_as_empty() -> None:
    doc = reference_document() | {"messages": None}
    assert from_document(doc, snapshot_id=GOOD_ID, file="f").messages == []
