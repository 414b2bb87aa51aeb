"""Fixtures of the store tests: stores on real temporary directories, snapshots, fixed keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chatd.core.store import FileStore
from chatd.core.store.base import Snapshot, ToolSpec

KEY = bytes(range(32))
OTHER_KEY = bytes(range(100, 132))


def make_snapshot(**fields: Any) -> Snapshot:
    """A never-saved conversation with one exchange; ``fields`` override."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "provider": "claude",
        "model": "claude-test",
        "system_prompt": "Be brief.",
        "messages": [
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": [{"type": "text", "text": "Hi!"}]},
        ],
        "tools": (ToolSpec(name="lookup", description="Look up", parameters={"type": "object"}),),
        "metadata": {"project": "chatd"},
        "title": "Greeting",
        "created_at": now,
        "updated_at": now,
    }
    values.update(fields)
    return Snapshot(**values)


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "conversations"


@pytest.fixture
def plain_store(store_dir: Path) -> FileStore:
    return FileStore(store_dir)


@pytest.fixture
def encrypted_store(store_dir: Path) -> FileStore:
    return FileStore(store_dir, KEY)


@pytest.fixture(params=["plain", "encrypted"])
def store(request: pytest.FixtureRequest, store_dir: Path) -> FileStore:
    return FileStore(store_dir, KEY if request.param == "encrypted" else None)
