"""Run nnframe's command line in a process that must write no file: opening a file for
writing, creating one or renaming one raises, naming the path. tests/test_mpi.py runs the
processes other than rank 0 of ``nnframe train`` this way:
``mpiexec -n 1 nnframe train ... : -n 1 python no_writes.py train ...``.
"""

from __future__ import annotations

import builtins
import io
import os
import sys

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def refuse(path: object) -> None:
    raise PermissionError(f"this process must not write files, but it wrote {path}")


def guard() -> None:
    real_open, real_os_open = builtins.open, os.open

    def open_(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            refuse(file)
        return real_open(file, mode, *args, **kwargs)

    def os_open(path, flags, *args, **kwargs):
        if flags & WRITE_FLAGS:
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
