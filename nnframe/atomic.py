"""Atomic file writes: a crash or an error never leaves a half-written file in place.

The content goes to a temporary file beside the target (same directory, so the same file
system), is flushed and fsynced, and only then renamed over the target with `os.replace`,
which is atomic on POSIX and Windows. Readers see either the old file or the new one.

A process killed midway leaves its hidden temporary file behind; the next successful write
into the same directory removes such files once they are more than a day old (`STALE_AFTER_S`),
so that they never pile up, while a write still in progress elsewhere is never touched.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from nnframe.errors import PathError

TEMP_SUFFIX = ".tmp"
#: Age in seconds after which a leftover temporary file is removed.
STALE_AFTER_S = 24 * 3600
_TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{12}" + re.escape(TEMP_SUFFIX) + "$")


def temp_path_for(path: Path) -> Path:
    """A fresh hidden name beside ``path``: ``.<name>.<random>.tmp``."""
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")


def write_atomic(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then move it into place.

    If ``write`` (or the flush, fsync or rename) raises, the temporary file is removed and
    the exception propagates; whatever was at ``path`` before is untouched. If the process
    is killed midway, only a hidden ``.<name>.*.tmp`` file can be left behind (removed by a
    later write into the directory once it is a day old). A path that cannot name a file
    (empty, ``.``, holding a NUL byte) raises `PathError` before anything is written.
    """
    target = checked_target(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temp = temp_path_for(target)
        try:
            # 0o666 lets the umask decide the permissions, as for any newly created file.
            fd = os.open(temp, flags, 0o666)
            break
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_directory(target.parent)
    remove_stale_temps(target.parent)
    return target


def checked_target(path: str | os.PathLike[str]) -> Path:
    """``path`` as a `Path`, or `PathError` when it cannot name a file to write."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if "\0" in text:
        raise PathError(f"cannot write to {text!r}: a path cannot contain a NUL byte")
    target = Path(text)
    if not text or target.name in ("", ".", ".."):
        named = "the path is empty" if not text else "it names a directory, not a file"
        raise PathError(f"cannot write to {text!r}: {named}; give a file name")
    return target


def remove_stale_temps(directory: Path, max_age: float = STALE_AFTER_S) -> list[Path]:
    """Remove the hidden temporary files (``.<name>.<12 hex>.tmp``) in ``directory`` that
    are older than ``max_age`` seconds: what killed writes left. Best effort: a file that
    cannot be examined or removed is left alone. Returns the files removed."""
    removed: list[Path] = []
    cutoff = time.time() - max_age
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        if not _TEMP_NAME.match(entry.name):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False) and entry.stat(
                    follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable where the platform allows it (POSIX)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
