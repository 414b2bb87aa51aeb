"""Upgrades of older snapshot documents, one named function per version step.

``MIGRATIONS[n]`` turns a version ``n - 1`` document into a version ``n`` one. They work on the
decoded JSON object, before it is typed, and are applied in version order on every load; the
file itself is rewritten in the new version only when the conversation is next saved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Document = dict[str, Any]


def m002_add_revision(doc: Document) -> Document:
    """Version 1 is the reference's format: one save per id, no revision and no update time.

    Such a file counts as the first revision, last updated when it was created.
    """
    upgraded = dict(doc)
    upgraded.setdefault("revision", 1)
    upgraded.setdefault("updated_at", doc.get("created_at"))
    upgraded["version"] = 2
    return upgraded


MIGRATIONS: dict[int, Callable[[Document], Document]] = {2: m002_add_revision}


def migrate(doc: Document, version: int) -> Document:
    """``doc`` (at ``version``) brought up to the newest version this chatd knows."""
    for target in sorted(MIGRATIONS):
        if target > version:
            doc = MIGRATIONS[target](doc)
    return doc
