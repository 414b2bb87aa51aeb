"""FileStore: one ``<dir>/<id>.json`` per conversation, shared safely between processes.

Layout::

    <dir>/<id>.json         a snapshot (plain pretty JSON, or the AES-GCM envelope)
    <dir>/media/<sha256>    media blobs (``media.py``), collected by ``gc`` (``media_gc.py``)
    <dir>/.chatd/lock       flock'd by every writer, so writers in any process take turns
    <dir>/.chatd/index      the summary index ``list`` reads (see ``index.py``),
    <dir>/.chatd/recent     and its latest changes

The index lives in a subdirectory so that rewriting it does not change the mtime of the
directory it describes. Saves are optimistic: ``save`` writes revision ``n + 1`` only over
revision ``n``. Every method blocks; async callers go through ``anyio.to_thread``.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from chatd.core.store.base import SNAPSHOT_VERSION, ListPage, Snapshot, SnapshotSummary
from chatd.core.store.crypto import Envelope, is_json_text
from chatd.core.store.files import (
    DIR_MODE,
    FileSig,
    file_sig,
    fsync_dir,
    is_temp_name,
    locked,
    make_private_dir,
    remove_if_stale,
    restrict_dir,
    write_atomic,
)
from chatd.core.store.index import DAMAGED, Base, Entry, Index, dir_sig
from chatd.core.store.keycheck import KeyGuard
from chatd.core.store.media import MEDIA_PREFIX_BYTES, MediaBlobs
from chatd.core.store.media_gc import Collected, collect, references
from chatd.core.store.scan import scan
from chatd.core.store.snapshot import (
    KNOWN_KEYS,
    SNAPSHOT_SUFFIX,
    encode_json,
    from_document,
    parse_document,
    summarize,
    to_document,
    validate_snapshot_id,
)
from chatd.errors import (
    InvalidParams,
    InvalidSnapshotId,
    SnapshotNotFound,
    SnapshotUnreadable,
    StoreConflict,
    StoreError,
)

log = logging.getLogger(__name__)

STATE_DIR = ".chatd"
INDEX_NAME = "index"
RECENT_NAME = "recent"
INDEX_FILES = (RECENT_NAME, INDEX_NAME)
LOCK_NAME = "lock"

_READ_ONLY = (errno.EACCES, errno.EPERM, errno.EROFS)
_NO_FILE: FileSig = (0, 0, 0)


def store_lock(directory: Path) -> AbstractContextManager[None]:
    """The lock every writer of the store at ``directory`` takes.

    It lives in the state directory, made here if needed; the store directory must exist.
    """
    state = directory / STATE_DIR
    try:
        os.mkdir(state, DIR_MODE)
    except FileExistsError:
        pass
    return locked(state / LOCK_NAME)


class FileStore:
    """The conversation store on a local directory, optionally encrypted with a 32-byte key."""

    def __init__(self, directory: Path, key: bytes | None = None) -> None:
        """:raises ConfigError: a key that is not 32 bytes."""
        self._dir = Path(directory)
        self._state = self._dir / STATE_DIR
        self._envelope = Envelope(key)
        self._guard = KeyGuard(self._dir, self._state, key)
        self._media = MediaBlobs(self._dir, self._envelope)

    def __repr__(self) -> str:
        return f"FileStore({str(self._dir)!r}, encrypted={self.encrypted})"

    @property
    def directory(self) -> Path:
        return self._dir

    @property
    def encrypted(self) -> bool:
        return self._envelope.encrypted

    def save(self, snapshot: Snapshot) -> Snapshot:
        """Write ``snapshot`` as revision ``snapshot.revision + 1``; return what was written.

        :raises InvalidSnapshotId:
        :raises StoreConflict: the stored revision is not ``snapshot.revision`` (0: none).
        :raises InvalidParams: the messages hold something JSON cannot (NaN, infinity).
        :raises EncryptedWithoutKey, WrongKey, NotEncrypted: the store's key is not ours.
        """
        snapshot_id = validate_snapshot_id(snapshot.id)
        path = self._path(snapshot_id)
        written = replace(
            snapshot,
            created_at=snapshot.created_at.astimezone(UTC),
            updated_at=datetime.now(UTC),
            revision=snapshot.revision + 1,
            version=SNAPSHOT_VERSION,
            extra={k: v for k, v in snapshot.extra.items() if k not in KNOWN_KEYS},
        )
        messages, blobs = self._media.externalise(written.messages)
        try:
            outside = to_document(replace(written, messages=messages))
            document = encode_json(outside, pretty=not self.encrypted)
        except ValueError as exc:
            raise InvalidParams(f"conversation {snapshot_id} cannot be saved: {exc}") from None
        data = self._envelope.seal(document)
        make_private_dir(self._dir)
        with self._lock():
            self._guard.before_write()
            before = dir_sig(os.stat(self._dir))
            index = self._read_index()[0]
            found = self._stored_revision(snapshot_id, path, index)
            if found != snapshot.revision:
                raise StoreConflict(snapshot_id, expected=snapshot.revision, found=found)
            self._media.write_missing(blobs)  # before the snapshot, under the lock gc takes
            sig = write_atomic(self._dir, path.name, data)
            if index is not None:
                index.put(Entry(summarize(written), sig))
                self._update_index(index, before)
        return written

    def load(self, snapshot_id: str) -> Snapshot:
        """:raises SnapshotNotFound, DecryptionFailed, CorruptSnapshot, UnsupportedVersion:
        :raises InvalidSnapshotId, SnapshotUnreadable:
        """
        snapshot, has_media = self._decode(validate_snapshot_id(snapshot_id))
        if not has_media:
            return snapshot
        messages = self._media.resolve(snapshot.messages, file=str(self._path(snapshot_id)))
        return replace(snapshot, messages=messages)

    def delete(self, snapshot_id: str) -> None:
        """:raises SnapshotNotFound, InvalidSnapshotId:"""
        path = self._path(validate_snapshot_id(snapshot_id))
        if not self._dir.is_dir():
            raise SnapshotNotFound(snapshot_id)
        with self._lock():
            before = dir_sig(os.stat(self._dir))
            index = self._read_index()[0]
            media = self._references(path)
            try:
                os.unlink(path)
            except FileNotFoundError:
                raise SnapshotNotFound(snapshot_id) from None
            fsync_dir(self._dir)
            if index is not None:
                index.remove(snapshot_id)
                self._update_index(index, before)
            if media:  # its blobs go unless another conversation uses them
                collect(self._dir, self._plain, only=media)

    def gc(self) -> Collected:
        """Remove media blobs no conversation refers to."""
        if not self._dir.is_dir():
            return Collected(0, 0)
        with self._lock():
            return collect(self._dir, self._plain)

    def exists(self, snapshot_id: str) -> bool:
        """:raises InvalidSnapshotId:"""
        return self._path(validate_snapshot_id(snapshot_id)).is_file()

    def list(
        self, *, limit: int = 50, cursor: str | None = None, provider: str | None = None
    ) -> ListPage:
        """Summaries newest first; unreadable files are ``problems`` (on the first page).

        A missing directory lists as empty and is not created.

        :raises InvalidParams: ``limit`` below 1, or a cursor this store did not hand out.
        :raises SnapshotUnreadable: the directory itself cannot be read.
        """
        if limit < 1:
            raise InvalidParams("limit must be at least 1", field="limit")
        try:
            current = dir_sig(os.stat(self._dir))
            restrict_dir(self._dir)
            index, written_ns = self._read_index()
            if index is None or not index.is_current(current, written_ns):
                index = self._refresh(index)
            page = self._checked_page(index, limit, cursor, provider)
            if page is None:
                index = self._refresh(index)
                page = index.page(limit, cursor, provider)
        except FileNotFoundError:
            return ListPage(items=[], next_cursor=None, problems=[])
        except OSError as exc:
            raise SnapshotUnreadable(f"cannot list {self._dir}: {exc.strerror}") from None
        entries, next_cursor = page
        problems = [item.problem for item in index.problems] if cursor is None else []
        return ListPage(
            items=[entry.summary for entry in entries], next_cursor=next_cursor, problems=problems
        )

    def check_key(self) -> None:
        """Whether this process may write here: its key (or none) is the store's.

        :raises EncryptedWithoutKey, WrongKey, NotEncrypted:
        """
        self._guard.check()

    def reindex(self) -> None:
        """Rebuild the index from every file, ignoring the one on disk (after a re-encryption)."""
        make_private_dir(self._dir)
        with self._lock():
            index = scan(self._dir, None, self._summary)
            self._write_index(index, index.base)

    def _path(self, snapshot_id: str) -> Path:
        """The file of a validated id; a symlink there must not lead out of the store."""
        path = self._dir / f"{snapshot_id}{SNAPSHOT_SUFFIX}"
        if os.path.islink(path) and (
            Path(os.path.realpath(path)).parent != Path(os.path.realpath(self._dir))
        ):
            raise InvalidSnapshotId(
                f"the file of snapshot {snapshot_id} escapes the store directory"
            )
        return path

    def _plain(self, path: Path) -> bytes:
        """A snapshot file's JSON bytes, decrypted.

        :raises FileNotFoundError, SnapshotUnreadable, DecryptionFailed:
        """
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise SnapshotUnreadable(f"cannot read {path}: {exc.strerror}") from None
        return self._envelope.open(data, what=f"conversation file {path}", is_plain=is_json_text)

    def _references(self, path: Path) -> set[str]:
        """The media a snapshot file refers to (none if it cannot be read)."""
        try:
            return references(self._plain(path))
        except (OSError, StoreError):
            return set()

    def _decode(self, snapshot_id: str) -> tuple[Snapshot, bool]:
        """The snapshot in its file (media references unresolved), and whether it has any."""
        path = self._path(snapshot_id)
        try:
            plain = self._plain(path)
        except FileNotFoundError:
            raise SnapshotNotFound(snapshot_id) from None
        document = parse_document(plain, file=str(path))
        snapshot = from_document(document, snapshot_id=snapshot_id, file=str(path))
        return snapshot, MEDIA_PREFIX_BYTES in plain

    def _summary(self, name: str) -> SnapshotSummary:
        return summarize(self._decode(validate_snapshot_id(name.removesuffix(SNAPSHOT_SUFFIX)))[0])

    def _stored_revision(self, snapshot_id: str, path: Path, index: Index | None) -> int:
        """The revision on disk (0: none), from the index when it still describes the file."""
        current = self._sig(path)
        if current == _NO_FILE:
            return 0
        try:
            entry = index.find(snapshot_id) if index is not None else None
        except DAMAGED:
            entry = None
        if entry is not None and entry.sig == current:
            return entry.summary.revision
        return self._decode(snapshot_id)[0].revision

    def _checked_page(
        self, index: Index, limit: int, cursor: str | None, provider: str | None
    ) -> tuple[Sequence[Entry], str | None] | None:
        """The page, or None when the index turns out damaged or the files shown were edited
        in place (which leaves the directory's mtime alone)."""
        try:
            entries, next_cursor = index.page(limit, cursor, provider)
        except DAMAGED:
            return None
        directory = str(self._dir)  # plain strings: this runs on every listing
        shown = [(f"{directory}/{e.summary.id}{SNAPSHOT_SUFFIX}", e.sig) for e in entries]
        shown += [(f"{directory}/{item.problem.file}", item.sig) for item in index.problems]
        if any(self._sig(path) != sig for path, sig in shown):
            return None
        return entries, next_cursor

    def _refresh(self, previous: Index | None) -> Index:
        """Scan the directory and save the result, unless this process may not write here."""
        try:
            with self._lock():
                for entry in os.scandir(self._state):
                    if is_temp_name(entry.name):
                        remove_if_stale(entry)
                index = scan(self._dir, self._read_index()[0] or previous, self._summary)
                if self._guard.allows_writes():  # no index under a key the store does not have
                    self._write_index(index, index.base)
                return index
        except OSError as exc:
            if exc.errno not in _READ_ONLY:
                raise
            log.debug("cannot update the index of %s (%s); listing without it", self._dir, exc)
            return scan(self._dir, previous, self._summary)

    def _read_index(self) -> tuple[Index | None, int]:
        """The index on disk and when it was written; None when missing or damaged.

        Only the small ``recent`` file is read here; the full one when a lookup needs it.
        """
        try:
            data, written_ns = self._read_state(RECENT_NAME)
            return Index.parse(data, self._read_base), written_ns
        except FileNotFoundError:
            return None, 0
        except (OSError, StoreError, *DAMAGED) as exc:
            log.info("rebuilding the index of %s: %s", self._dir, exc)
            return None, 0

    def _read_base(self) -> Base:
        """:raises ValueError: missing or damaged, so the index is rebuilt."""
        try:
            return Base.parse(self._read_state(INDEX_NAME)[0])
        except (OSError, StoreError) as exc:
            raise ValueError(f"cannot read the index: {exc}") from None

    def _read_state(self, name: str) -> tuple[bytes, int]:
        path = self._state / name
        with path.open("rb") as handle:
            data = handle.read()
            written_ns = os.fstat(handle.fileno()).st_mtime_ns
        return self._envelope.open(data, what=str(path), is_plain=is_json_text), written_ns

    def _update_index(self, index: Index, before: tuple[int, int]) -> None:
        """Save ``index`` after this process's own change, if it was current before it.

        A stale one is left alone: the file just written no longer matches its entry, so the
        next listing's scan picks it up with the rest; so is a damaged one, for the same scan.
        """
        if index.directory != before:
            return
        try:
            base = index.fold()
        except DAMAGED:
            return
        index.directory = dir_sig(os.stat(self._dir))
        self._write_index(index, base)

    def _write_index(self, index: Index, base: Base | None) -> None:
        """Write ``base`` (when it changed), then ``recent``, which names the base it extends."""
        # Not fsynced: an index lost or damaged by a crash is noticed and rebuilt.
        if base is not None:
            write_atomic(self._state, INDEX_NAME, self._envelope.seal(base.dump()), durable=False)
        data = self._envelope.seal(index.dump_recent())
        write_atomic(self._state, RECENT_NAME, data, durable=False)

    def _lock(self) -> AbstractContextManager[None]:
        return store_lock(self._dir)

    @staticmethod
    def _sig(path: Path | str) -> FileSig:
        try:
            return file_sig(os.stat(path))
        except OSError:
            return _NO_FILE
