"""File-system primitives of the store: atomic replace, private directories, the inter-process lock.

A file is replaced by writing a temp file in the same directory (0600 from its creation),
fsyncing it, renaming it over the old one and fsyncing the directory: a crash at any instant
leaves the old or the new content, never a mix. A crashed writer's temp file is removed later by
whoever scans the directory.
"""

from __future__ import annotations

import fcntl
import logging
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700

TEMP_SUFFIX = ".tmp"

STALE_TEMP_AGE_NS = 60 * 1_000_000_000
"""A live writer finishes a temp file in milliseconds; one untouched for a minute was left by a
writer that crashed, and is removed."""

FileSig = tuple[int, int, int]
"""(mtime_ns, size, inode): changes whenever a file is replaced or edited."""


def file_sig(result: os.stat_result) -> FileSig:
    return (result.st_mtime_ns, result.st_size, result.st_ino)


def is_temp_name(name: str) -> bool:
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def write_atomic(directory: Path, name: str, data: bytes, *, durable: bool = True) -> FileSig:
    """Replace ``directory/name`` with ``data`` in one step; return the new file's signature.

    ``durable=False`` skips the fsyncs, for caches that are rebuilt when lost or damaged.
    """
    temp = directory / f".{name}.{os.urandom(6).hex()}{TEMP_SUFFIX}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
            sig = file_sig(os.fstat(fd))
        finally:
            os.close(fd)
        os.replace(temp, directory / name)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(directory)
    return sig


def fsync_dir(directory: Path) -> None:
    """Makes a rename or unlink in ``directory`` survive a power cut."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_if_stale(entry: os.DirEntry[str]) -> None:
    """Remove a temp file a crashed writer left behind; live writers' files are young."""
    try:
        if entry.stat(follow_symlinks=False).st_mtime_ns < time.time_ns() - STALE_TEMP_AGE_NS:
            os.unlink(entry.path)
            log.info("removed %s, left by a writer that stopped mid-write", entry.path)
    except FileNotFoundError:
        pass


def make_private_dir(directory: Path) -> None:
    """Create ``directory`` (and parents) as 0700, or restrict an existing one to its owner."""
    try:
        os.makedirs(directory, DIR_MODE)
    except FileExistsError:
        restrict_dir(directory)
    else:
        os.chmod(directory, DIR_MODE)


def restrict_dir(directory: Path) -> None:
    """Conversations are private: a group- or world-accessible store directory is fixed, loudly."""
    mode = stat.S_IMODE(os.stat(directory).st_mode)
    if not mode & 0o077:
        return
    try:
        os.chmod(directory, DIR_MODE)
    except PermissionError:
        log.warning("store directory %s is accessible to other users (mode %04o)", directory, mode)
    else:
        log.warning(
            "store directory %s was accessible to other users (mode %04o); restricted it to 0700",
            directory,
            mode,
        )


@contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    """Hold the store's exclusive lock: writers in any process (or thread) take turns.

    Each holder opens its own descriptor, so threads of one process exclude each other too.
    """
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
