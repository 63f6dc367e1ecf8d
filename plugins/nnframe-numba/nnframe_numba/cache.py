"""How the kernels are compiled (`compiled`), and where numba keeps them:
``$NUMBA_CACHE_DIR`` when set, else ``nnframe/numba`` in the user cache directory
(``$XDG_CACHE_HOME`` or ``~/.cache``), so that a process after the first loads them
instead of compiling (about 0.1 s against 1 to 3 s). Set before the kernels are defined:
numba reads it when a cached function is made."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


def compiled(function: Callable | None = None, *, fastmath: bool | set[str] = True) -> Any:
    """Decorator: ``function`` compiled by numba on its first call, holding no GIL (a
    layer hands each thread a part of the batch, and `fit(strategy="threads")` runs
    shares at once), cached in `cache_dir` where a cache folder can be written (else
    compiled again by each process: numba refuses to cache without one).

    ``error_model="numpy"``: with Python's, every division checks for zero, and that
    branch keeps a loop scalar. ``fastmath``: numba's option, True or the set of LLVM
    flags allowed."""
    from numba import njit

    def decorate(function: Callable) -> Any:
        options = {"fastmath": fastmath, "error_model": "numpy", "nogil": True}
        with caching_in(cache_dir()):
            try:
                return njit(cache=True, **options)(function)
            except RuntimeError:
                return njit(**options)(function)

    return decorate if function is None else decorate(function)
