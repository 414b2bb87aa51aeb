"""Rebuilding the index from the directory: every ``*.json`` file summarised or reported.

Only files whose (mtime, size, inode) changed since the previous index are read again, so a
rescan after a few changes costs one ``stat`` per file. Temp files that crashed writers left
behind are removed on the way.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from chatd.core.store.base import SnapshotSummary, StoreProblem
from chatd.core.store.files import FileSig, file_sig, is_temp_name, remove_if_stale
from chatd.core.store.index import DAMAGED, Entry, Index, Problem, dir_sig, encode_line, parse_line
from chatd.core.store.snapshot import SNAPSHOT_SUFFIX
from chatd.errors import SnapshotNotFound, SnapshotUnreadable, StoreError

SummaryReader = Callable[[str], SnapshotSummary]
"""Reads one snapshot file by name; raises a StoreError when it cannot."""

_UNKNOWN: FileSig = (0, 0, 0)


def scan(directory: Path, previous: Index | None, read: SummaryReader) -> Index:
    """An index matching ``directory`` now, reading only files that changed since ``previous``."""
    signature = dir_sig(os.stat(directory))
    known, known_problems = _known(previous)
    lines: list[bytes] = []
    problems: list[Problem] = []
    with os.scandir(directory) as entries:
        for item in entries:
            name = item.name
            if is_temp_name(name):
                remove_if_stale(item)
                continue
            if not name.endswith(SNAPSHOT_SUFFIX):
                continue
            try:
                sig = file_sig(item.stat())
            except OSError as exc:
                message = f"cannot read {item.path}: {exc.strerror}"
                problem = StoreProblem(file=name, reason=SnapshotUnreadable.reason, message=message)
                problems.append(Problem(problem, _UNKNOWN))
                continue
            if name in known and known[name][0] == sig:
                lines.append(known[name][1])
            elif name in known_problems and known_problems[name].sig == sig:
                problems.append(known_problems[name])
            else:
                try:
                    lines.append(encode_line(Entry(read(name), sig)))
                except SnapshotNotFound:
                    continue  # deleted while we scanned
                except StoreError as exc:
                    problem = StoreProblem(file=name, reason=exc.reason, message=exc.message)
                    problems.append(Problem(problem, sig))
    problems.sort(key=lambda item: item.problem.file)
    return Index.build(signature, lines, problems)


def _known(previous: Index | None) -> tuple[dict[str, tuple[FileSig, bytes]], dict[str, Problem]]:
    """What ``previous`` knows, by file name; nothing when it turns out to be damaged."""
    if previous is None:
        return {}, {}
    try:
        entries = ((parse_line(line), line) for line in previous.lines())
        known = {entry.summary.id + SNAPSHOT_SUFFIX: (entry.sig, line) for entry, line in entries}
    except DAMAGED:
        return {}, {}
    return known, {item.problem.file: item for item in previous.problems}
