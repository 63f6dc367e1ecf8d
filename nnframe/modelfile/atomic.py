"""Atomic file writes: a crash or an error never leaves a half-written file in place.

The content goes to a temporary file beside the target (same directory, so the same file
system), is flushed and fsynced, and only then renamed over the target with `os.replace`,
which is atomic on POSIX and Windows. Readers see either the old file or the new one.

A process killed midway leaves its hidden temporary file behind; the next successful write
into the same directory removes such files once they are more than a day old (`STALE_AFTER_S`),
so that they never pile up, while a write still in progress elsewhere is never touched.

Only regular files are ever replaced: a path naming a device, a FIFO, a socket or a
directory is refused with `PathError` before anything is written (renaming over
``/dev/null`` would replace the device with a file). A symbolic link is followed: the file
it points to is replaced atomically and the link is kept, as ``open(path, "w")`` would do.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from nnframe.errors import PathError
from nnframe.modelfile.regular_files import kind_of

TEMP_SUFFIX = ".tmp"
#: The longest file name most file systems take, in bytes (ext4, XFS, APFS, NTFS).
NAME_MAX = 255
#: How much of the target's name a temporary name keeps, so that it stays under NAME_MAX.
_TEMP_NAME_KEEP = NAME_MAX - 32
#: Age in seconds after which a leftover temporary file is removed.
STALE_AFTER_S = 24 * 3600
_TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{12}" + re.escape(TEMP_SUFFIX) + "$")


def temp_path_for(path: Path) -> Path:
    """A fresh hidden name beside ``path``: ``.<name>.<random>.tmp`` (a long name is cut,
    so that the temporary name is never longer than the longest allowed)."""
    name = path.name
    while len(os.fsencode(name)) > _TEMP_NAME_KEEP:
        name = name[:-1]
    return path.with_name(f".{name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")


def write_atomic(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then move it into place.

    If ``write`` (or the flush, fsync or rename) raises, the temporary file is removed and
    the exception propagates; whatever was at ``path`` before is untouched. If the process
    is killed midway, only a hidden ``.<name>.*.tmp`` file can be left behind (removed by a
    later write into the directory once it is a day old). A path that cannot name a file
    (empty, ``.``, holding a NUL byte, a name too long), or that names something other than
    a regular file (a device, a FIFO, a directory), raises `PathError` before anything is
    written. A symbolic link is followed; the path as given is returned.
    """
    given = checked_target(path)
    target = replaceable_target(given)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temp = temp_path_for(target)
        try:
            # 0o666 lets the umask decide the permissions, as for any newly created file.
            fd = os.open(temp, flags, 0o666)
            break
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                raise PathError(f"cannot write to {given}: the path is too long for the file "
                                "system; give a shorter one") from None
            raise
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
    return given


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
    size = len(os.fsencode(target.name))
    if size > NAME_MAX:
        raise PathError(f"cannot write to {text}: its file name is {size} bytes long, and file "
                        f"systems take at most {NAME_MAX}; give a shorter name")
    return target


def replaceable_target(path: Path) -> Path:
    """The file a write to ``path`` replaces: ``path`` itself, or the file a symbolic link
    there points to (followed to the end). `PathError` when that exists and is not a
    regular file: a device, a FIFO, a socket or a directory is never replaced."""
    target = Path(os.path.realpath(path)) if os.path.islink(path) else path
    try:
        mode = os.stat(target).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return target  # a new file (a missing directory is said when it is created)
    except OSError:
        return target  # cannot look (no permission): the write itself says why
    if not stat.S_ISREG(mode):
        shown = str(path) if target == path else f"{path} (a link to {target})"
        raise PathError(f"cannot write to {shown}: it is {kind_of(mode)}, not a regular file, "
                        "and nnframe replaces only regular files; give a file name")
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


def check_writable(path: str | os.PathLike[str], what: str = "output",
                   create_directories: bool = False) -> Path:
    """Refuse, before any work, a path that a later `write_atomic` would refuse or fail on.

    ``what`` names the path in the message (``"--output"``, ``"csv_logger path"``). With
    ``create_directories`` (what `ModelCheckpoint` does), missing directories are fine when
    the nearest existing one is writable. Returns the path as given.
    """
    try:
        given = checked_target(path)
        target = replaceable_target(given)
    except PathError as exc:
        raise PathError(f"{what}: {exc}") from None
    folder = target.parent
    if not create_directories and not folder.is_dir():
        raise PathError(f"{what} {given}: the directory {folder} does not exist")
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise PathError(f"{what} {given}: {folder} is not a directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PathError(f"{what} {given}: the directory {folder} is not writable")
    return given


def refuse_own_inputs(output: str | os.PathLike[str] | None,
                      inputs: dict[str, str | os.PathLike[str] | None]) -> None:
    """`PathError` when ``output`` is one of a command's own inputs (``{"model file":
    path, ...}``): the same file, through any link or spelling. Writing there would destroy
    what the command reads; nothing is checked when ``output`` is None."""
    if output is None:
        return
    for what, source in inputs.items():
        if source is not None and _same_file(output, source):
            shown = "" if os.fspath(output) == os.fspath(source) else f" ({source})"
            raise PathError(f"{output} is the {what} itself{shown}; writing there would "
                            "destroy it, so give the output another name")


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):  # one does not exist (yet): compare where they lead
        return os.path.realpath(a) == os.path.realpath(b)
