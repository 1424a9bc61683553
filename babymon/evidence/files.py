"""File operations of the evidence store that never leave a half-written file behind."""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("babymon.evidence")


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(f"wrote nothing to {fd}")
        view = view[written:]


def unlink_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("evidence: cannot remove %s: %s", path, exc)


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def write_atomic(path: Path, data: bytes) -> None:
    """``path`` ← ``data``, all or nothing: a temporary file beside it, renamed over it (never left)."""
    temp = path.with_name(f".{path.name}.tmp")
    try:
        temp.unlink(missing_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        unlink_quietly(temp)
        raise


def append_line(path: Path, line: bytes) -> None:
    """Adds ``line`` to the file, on a line of its own. A write that fails half-way is cut back off (if even
    that fails, the caller must rewrite the file whole) and raises."""
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, 0o666)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line  # someone left a partial line
        try:
            write_all(fd, line)
        except OSError:
            _cut_back(fd, size, path)
            raise
    finally:
        os.close(fd)


def _cut_back(fd: int, size: int, path: Path) -> None:
    try:
        os.ftruncate(fd, size)
    except OSError as exc:
        log.warning("evidence: %s: a half-written line could not be cut off (%s); the list is rewritten at "
                    "the next write", path, exc.strerror or exc)
