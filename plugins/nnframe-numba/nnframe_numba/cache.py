"""Where numba keeps the compiled kernels: ``$NUMBA_CACHE_DIR`` when set, else
``nnframe/numba`` in the user cache directory (``$XDG_CACHE_HOME`` or ``~/.cache``), so
that a process after the first loads them instead of compiling (about 0.1 s against 1 to 3
s). Set before the kernels are defined: numba reads it when a cached function is made."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

CACHE_ENV = "NUMBA_CACHE_DIR"


def cache_dir() -> Path:
    """The folder the compiled kernels are cached in."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nnframe" / "numba"


@contextlib.contextmanager
def caching_in(folder: Path) -> Iterator[None]:
    """Functions decorated inside the block cache in ``folder``; numba's setting for the
    rest of the process is put back after (numba may have been imported by others)."""
    import numba

    previous = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = str(folder)
    try:
        yield
    finally:
        numba.config.CACHE_DIR = previous
