"""The summary index: what ``list`` shows, kept beside the snapshots so a listing never has to
decrypt and parse every conversation.

Two files, both sealed with the store's envelope (titles and metadata are as private as the
snapshots), each a JSON header line and then one line per snapshot: an 18-digit microsecond
``updated_at``, the id, and a JSON array. ``index`` holds every entry sorted oldest first, so a
page is read from its end and only the lines shown are parsed. ``recent`` holds the entries
changed since ``index`` was written, and deletions: a save rewrites only this small file, and
folds it into ``index`` once it holds ``RECENT_LIMIT`` entries.

Freshness: any file added, removed or replaced by rename changes the store directory's mtime,
which ``recent`` records from the moment the index last matched the directory. When it differs,
the directory is scanned (``scan.py``). A file system stamps times in ticks, so a change in the
same tick as the recorded mtime would not move it: an index written within a few ticks of that
mtime is not trusted (git's "racily clean" rule), and the next listing scans.
"""

from __future__ import annotations

import heapq
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from chatd.core.store.base import SnapshotSummary, StoreProblem
from chatd.core.store.files import FileSig
from chatd.core.store.snapshot import SNAPSHOT_ID, micros_to_time, time_to_micros
from chatd.errors import InvalidParams

INDEX_FORMAT = 1

RACY_WINDOW_NS = 100_000_000
"""For file systems with sub-second times, which Linux stamps once per kernel tick (1 to 10 ms):
ten ticks at the slowest rate."""

COARSE_RACY_WINDOW_NS = 2 * 1_000_000_000
"""For file systems whose times are whole seconds (FAT: 2 s, HFS+: 1 s)."""

RECENT_LIMIT = 256
"""Changes held in the small file before a fold: the full index (about 180 bytes per
conversation) is rewritten once per this many saves instead of on every one."""

_TIME_WIDTH = 18
"""Microseconds since year 1 up to year 9999 fit in 18 digits, so keys sort as strings."""
KEY_WIDTH = _TIME_WIDTH + 36
_CURSOR = re.compile(rf"\d{{{_TIME_WIDTH}}}{SNAPSHOT_ID.pattern}")
_DELETED = b"-"

DAMAGED = (ValueError, TypeError, KeyError, IndexError)
"""What decoding a damaged index raises; such an index is rebuilt, never reported."""

DirSig = tuple[int, int]
"""The store directory's (mtime_ns, inode)."""


def dir_sig(result: os.stat_result) -> DirSig:
    return (result.st_mtime_ns, result.st_ino)


@dataclass(frozen=True)
class Entry:
    summary: SnapshotSummary
    sig: FileSig


@dataclass(frozen=True)
class Problem:
    problem: StoreProblem
    sig: FileSig


class Base:
    """The ``index`` file: every entry line, oldest first, as one byte string.

    Splitting 10,000 lines costs more than a whole first page, so pages walk back from the end.
    """

    def __init__(self, generation: str, body: bytes) -> None:
        self.generation = generation
        """Names this write, so ``recent`` can tell it belongs to it."""
        self.body = body

    @classmethod
    def build(cls, lines: Iterable[bytes]) -> Base:
        return cls(os.urandom(8).hex(), b"\n".join(sorted(lines)))

    @classmethod
    def parse(cls, data: bytes) -> Base:
        """:raises ValueError: (or another of ``DAMAGED``) not a base index this chatd wrote."""
        header, _, body = data.partition(b"\n")
        head = _header(header)
        return cls(str(head["generation"]), body)

    def dump(self) -> bytes:
        header = {"format": INDEX_FORMAT, "generation": self.generation}
        return json.dumps(header).encode() + b"\n" + self.body

    def lines(self) -> list[bytes]:
        return self.body.split(b"\n") if self.body else []

    def newest_first(self, end: int) -> Iterator[bytes]:
        """The lines that start before byte ``end`` (a line start, or the end), newest first."""
        stop = end if end == len(self.body) else end - 1
        while stop > 0:
            start = self.body.rfind(b"\n", 0, stop) + 1
            yield self.body[start:stop]
            stop = start - 1

    def seek(self, key: bytes) -> int:
        """The offset of the first line whose key is ``key`` or later (a binary search)."""
        low, high = 0, len(self.body)  # low is always a line start
        while low < high:
            start = self.body.rfind(b"\n", low, (low + high) // 2) + 1 or low
            if self.body[start : start + KEY_WIDTH] < key:
                newline = self.body.find(b"\n", start)
                low = len(self.body) if newline < 0 else newline + 1
            else:
                high = start
        return low

    def find(self, snapshot_id: bytes) -> bytes | None:
        """The line of ``snapshot_id``: its id sits right after a line start's time."""
        at = self.body.find(snapshot_id)
        while at >= 0:
            start = at - _TIME_WIDTH
            if start == 0 or (start > 0 and self.body[start - 1 : start] == b"\n"):
                newline = self.body.find(b"\n", at)
                return self.body[start : len(self.body) if newline < 0 else newline]
            at = self.body.find(snapshot_id, at + 1)
        return None


class Index:
    """The store's index: ``recent`` read at once, the big ``index`` only when needed."""

    def __init__(
        self,
        directory: DirSig,
        problems: list[Problem],
        recent: dict[bytes, bytes | None],
        base: Base | Callable[[], Base],
        base_generation: str,
    ) -> None:
        self.directory = directory
        self.problems = problems
        self.recent = recent
        """Entry lines by id changed since ``base``; None: deleted."""
        self._base = base
        self._base_generation = base_generation

    @classmethod
    def build(cls, directory: DirSig, lines: list[bytes], problems: list[Problem]) -> Index:
        base = Base.build(lines)
        return cls(directory, problems, {}, base, base.generation)

    @classmethod
    def parse(cls, recent: bytes, load_base: Callable[[], Base]) -> Index:
        """:raises ValueError: (or another of ``DAMAGED``) not an index this chatd wrote."""
        header, *lines = recent.split(b"\n")
        head = _header(header)
        problems = [
            Problem(StoreProblem(file=file, reason=reason, message=message), (m, s, i))
            for file, reason, message, m, s, i in head["problems"]
        ]
        changes: dict[bytes, bytes | None] = {}
        for line in lines:
            deleted = line.startswith(_DELETED)
            changes[line[1:] if deleted else line[_TIME_WIDTH:KEY_WIDTH]] = (
                None if deleted else line
            )
        mtime_ns, inode = head["dir"]
        return cls((mtime_ns, inode), problems, changes, load_base, str(head["base"]))

    @property
    def base(self) -> Base:
        """:raises ValueError: the ``index`` file is not the one ``recent`` was written over."""
        if not isinstance(self._base, Base):
            self._base = self._base()
            if self._base.generation != self._base_generation:
                raise ValueError("the index files are from different writes")
        return self._base

    def dump_recent(self) -> bytes:
        problems = [
            [item.problem.file, item.problem.reason, item.problem.message, *item.sig]
            for item in self.problems
        ]
        header = {
            "format": INDEX_FORMAT,
            "base": self._base_generation,
            "dir": list(self.directory),
            "problems": problems,
        }
        changes = [line or _DELETED + key for key, line in self.recent.items()]
        return b"\n".join([json.dumps(header).encode(), *changes])

    def is_current(self, directory: DirSig, written_ns: int) -> bool:
        """Whether this index, written at ``written_ns``, still describes ``directory``."""
        mtime_ns = directory[0]
        whole_seconds = mtime_ns % 1_000_000_000 == 0
        window = COARSE_RACY_WINDOW_NS if whole_seconds else RACY_WINDOW_NS
        return directory == self.directory and written_ns - mtime_ns >= window

    def lines(self) -> list[bytes]:
        kept = [
            line for line in self.base.lines() if line[_TIME_WIDTH:KEY_WIDTH] not in self.recent
        ]
        return kept + [line for line in self.recent.values() if line is not None]

    def page(
        self, limit: int, cursor: str | None, provider: str | None
    ) -> tuple[list[Entry], str | None]:
        """Up to ``limit`` entries newest first, after ``cursor``; the cursor of the next page.

        :raises InvalidParams: a cursor this index did not hand out.
        """
        end = len(self.base.body)
        if cursor is not None:
            if not _CURSOR.fullmatch(cursor):
                raise InvalidParams("invalid list cursor", field="cursor")
            end = self.base.seek(cursor.encode())
        older = (
            line
            for line in self.base.newest_first(end)
            if line[_TIME_WIDTH:KEY_WIDTH] not in self.recent
        )
        changed = sorted(
            (line for line in self.recent.values() if line is not None),
            reverse=True,
        )
        if cursor is not None:
            changed = [line for line in changed if line[:KEY_WIDTH] < cursor.encode()]
        merged = heapq.merge(changed, older, key=lambda line: line[:KEY_WIDTH], reverse=True)
        needle = json.dumps(provider).encode() if provider is not None else None
        items: list[Entry] = []
        for line in merged:
            if needle is not None and needle not in line:
                continue
            entry = parse_line(line)
            if provider is not None and entry.summary.provider != provider:
                continue
            if len(items) == limit:
                return items, _key(items[-1].summary).decode()
            items.append(entry)
        return items, None

    def find(self, snapshot_id: str) -> Entry | None:
        key = snapshot_id.encode()
        line = self.recent[key] if key in self.recent else self.base.find(key)
        return None if line is None else parse_line(line)

    def put(self, entry: Entry) -> None:
        self.recent[entry.summary.id.encode()] = encode_line(entry)

    def remove(self, snapshot_id: str) -> None:
        self.recent[snapshot_id.encode()] = None

    def fold(self) -> Base | None:
        """Move ``recent`` into a new base once it is big enough; the base to write, if so."""
        if len(self.recent) < RECENT_LIMIT:
            return None
        base = Base.build(self.lines())
        self._base, self._base_generation, self.recent = base, base.generation, {}
        return base


def encode_line(entry: Entry) -> bytes:
    s = entry.summary
    fields: list[Any] = [s.provider, s.model, s.title, time_to_micros(s.created_at)]
    fields += [s.message_count, s.metadata, s.revision, *entry.sig]
    return _key(s) + json.dumps(fields, separators=(",", ":")).encode()


def parse_line(line: bytes) -> Entry:
    provider, model, title, created, count, metadata, revision, *sig = json.loads(line[KEY_WIDTH:])
    summary = SnapshotSummary(
        id=line[_TIME_WIDTH:KEY_WIDTH].decode(),
        provider=provider,
        model=model,
        title=title,
        created_at=micros_to_time(created),
        updated_at=micros_to_time(int(line[:_TIME_WIDTH])),
        message_count=count,
        metadata=metadata,
        revision=revision,
    )
    return Entry(summary, (sig[0], sig[1], sig[2]))


def _header(line: bytes) -> dict[str, Any]:
    head = json.loads(line)
    if not isinstance(head, dict) or head.get("format") != INDEX_FORMAT:
        raise ValueError("not an index of this format")
    return head


def _key(summary: SnapshotSummary) -> bytes:
    return f"{time_to_micros(summary.updated_at):0{_TIME_WIDTH}d}{summary.id}".encode()
