"""Run nnframe's command line in a process that must write no file: opening a file for
writing, creating one or renaming one raises, naming the path. tests/test_mpi.py runs the
processes other than rank 0 of ``nnframe train`` this way:
``mpiexec -n 1 nnframe train ... : -n 1 python no_writes.py train ...``.

Temporary files that tempfile makes are not outputs and stay allowed: libraries make them
for their own use (on Python 3.10, ctypes' find_library, which threadpoolctl calls,
compiles a probe into one).
"""

from __future__ import annotations

import builtins
import io
import os
import sys
import tempfile

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def refuse(path: object) -> None:
    raise PermissionError(f"this process must not write files, but it wrote {path}")


def guard() -> None:
    real_open, real_os_open = builtins.open, os.open
    temporary = os.path.realpath(tempfile.gettempdir())  # found before guarding

    def temporary_file(path: object) -> bool:
        """A file tempfile names (``tmp`` and 8 characters, right in the temporary
        directory), or that directory itself (O_TMPFILE opens it); a test's own folder
        under it is not one."""
        if not isinstance(path, (str, bytes, os.PathLike)):
            return False
        real = os.path.realpath(os.fsdecode(path))
        folder, name = os.path.split(real)
        return real == temporary or (folder == temporary and name.startswith("tmp"))

    def open_(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+") and not temporary_file(file):
            refuse(file)
        return real_open(file, mode, *args, **kwargs)

    def os_open(path, flags, *args, **kwargs):
        if flags & WRITE_FLAGS and not temporary_file(path):
            refuse(path)
        return real_os_open(path, flags, *args, **kwargs)

    # a staticmethod (callable since Python 3.10), so that a class which stores io.open as
    # an attribute after this point (pathlib's accessor on Python 3.10) does not bind it
    builtins.open = io.open = staticmethod(open_)
    os.open = os_open
    os.replace = os.rename = lambda source, target, *a, **k: refuse(target)


if __name__ == "__main__":
    guard()
    from nnframe.cli import main

    main(sys.argv[1:])
