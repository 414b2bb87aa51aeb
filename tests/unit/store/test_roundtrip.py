"""Property: whatever a conversation holds, saving and loading it gives it back unchanged."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatd.core.store import FileStore
from chatd.core.store.base import Snapshot, ToolSpec
from chatd.core.store.snapshot import KNOWN_KEYS

from .conftest import KEY

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
tools = st.builds(
    ToolSpec,
    name=st.text(min_size=1),
    description=st.text(),
    parameters=st.none() | st.dictionaries(st.text(), json_values, max_size=3),
)
snapshots = st.builds(
    Snapshot,
    id=st.uuids().map(str),
    provider=st.sampled_from(["claude", "openai", "gemini", "echo"]),
    model=st.text(),
    system_prompt=st.text(),
    messages=st.lists(json_values, max_size=6),
    tools=st.lists(tools, max_size=3).map(tuple),
    metadata=st.dictionaries(st.text(), st.text(), max_size=4),
    title=st.none() | st.text(),
    usage=st.dictionaries(st.text(), st.integers(min_value=0, max_value=2**40), max_size=3),
    extra=st.dictionaries(
        st.text(min_size=1).filter(lambda key: key not in KNOWN_KEYS), json_values, max_size=3
    ),
    created_at=st.datetimes(timezones=st.just(UTC)),
    updated_at=st.datetimes(timezones=st.just(UTC)),
)


@pytest.fixture(scope="module", params=["plain", "encrypted"])
def shared_store(request: pytest.FixtureRequest) -> Iterator[FileStore]:
    with tempfile.TemporaryDirectory() as directory:
        yield FileStore(Path(directory), KEY if request.param == "encrypted" else None)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(snapshot=snapshots)
def test_save_load_round_trip(shared_store: FileStore, snapshot: Snapshot) -> None:
    snapshot = replace(snapshot, id=str(uuid.uuid4()))  # examples repeat; conversations must not
    saved = shared_store.save(snapshot)
    assert saved.revision == snapshot.revision + 1
    loaded = shared_store.load(snapshot.id)
    assert loaded == saved
    assert_same_json(loaded.messages, snapshot.messages)
    assert loaded.extra == snapshot.extra
    summary = next(item for item in shared_store.list(limit=1000).items if item.id == snapshot.id)
    assert (summary.message_count, summary.title, summary.metadata) == (
        len(snapshot.messages),
        snapshot.title,
        snapshot.metadata,
    )


def assert_same_json(left: Any, right: Any) -> None:
    """Equal, and of the same JSON types (True is not 1, 1.0 is not 1)."""
    assert type(left) is type(right)
    if isinstance(left, list):
        assert len(left) == len(right)
        for a, b in zip(left, right, strict=True):
            assert_same_json(a, b)
    elif isinstance(left, dict):
        assert list(left) == list(right)
        for key in left:
            assert_same_json(left[key], right[key])
    else:
        assert left == right
