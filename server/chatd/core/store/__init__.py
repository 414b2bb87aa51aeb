"""Saved conversations: the snapshot model, the file store, its encryption and index."""

from __future__ import annotations

from chatd.config import StoreSettings
from chatd.core.store.filestore import FileStore
from chatd.core.store.keys import resolve_key

__all__ = ["FileStore", "open_store"]


def open_store(settings: StoreSettings) -> FileStore:
    """The store the settings describe, with its key resolved.

    :raises ConfigError: a key is configured but unusable.
    """
    return FileStore(settings.dir, resolve_key(settings))
