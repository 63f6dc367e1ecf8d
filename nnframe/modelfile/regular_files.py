"""Opening a user's path for reading: regular files only, refused by kind before opening.

A path given to nnframe (a model file, a config, an input array, an IDX data file) may name
something that is not a file: ``/dev/zero`` never ends (reading it exhausts memory), opening
a FIFO blocks until a writer comes, a directory cannot be read. `open_regular` looks at
what the path is *before* opening it, then opens it without blocking and checks the opened
descriptor again, so a path swapped for a FIFO or a device in between is refused as well.
"""

from __future__ import annotations

import contextlib
import os
import stat
from typing import BinaryIO

from nnframe.errors import NNFrameError

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
# O_NONBLOCK: opening a FIFO that replaced the file after the stat returns at once.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def kind_of(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words: ``"a directory"``, ``"a FIFO (named
    pipe)"``, ... or ``"a regular file"``."""
    if stat.S_ISREG(mode):
        return "a regular file"
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_regular(path: str | os.PathLike[str], what: str,
                 error: type[NNFrameError] = NNFrameError) -> BinaryIO:
    """``path`` opened for binary reading, if it is a regular file; else ``error``.

    ``what`` names the file in messages (``"model file"``); each message starts with the
    path: ``x: no such model file``, ``x: is a FIFO (named pipe), not a model file``,
    ``x: cannot be read (Permission denied)``.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except ValueError:  # an embedded NUL byte
        raise error(f"{path!r}: not a valid path (it contains a NUL byte)") from None
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc})") from None
    _check_regular(path, mode, what, error)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        _check_regular(path, os.fstat(fd).st_mode, what, error)  # the file actually opened
        if _OPEN_FLAGS & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(fd)
        raise


def _check_regular(path: str | os.PathLike[str], mode: int, what: str,
                   error: type[NNFrameError]) -> None:
    if not stat.S_ISREG(mode):
        article = "an" if what[:1] in "aeiou" else "a"
        raise error(f"{path}: is {kind_of(mode)}, not {article} {what}")
