"""Element-wise and batch-wise NumPy work split over threads, when it is large enough to pay.

NumPy releases the GIL inside a ufunc's loop, so a long element-wise pass (an optimizer
update, an activation over a large batch, an im2col copy) can run on every core by cutting
it into contiguous chunks and handing each to a thread. Starting the threads and waiting
for them costs tens of microseconds, so work smaller than a measured ``min_chunk`` per
thread stays on the calling thread, exactly as without this module.

How many threads: ``NNFRAME_NUM_THREADS`` (or `set_num_threads`), by default the cores this
process may run on, and never more than NumPy's BLAS may use at that moment, so that a limit
set with threadpoolctl (``threadpool_limits(1)``) or ``OPENBLAS_NUM_THREADS`` holds for
nnframe's own threads too.

The results never depend on the number of threads: each chunk runs the same element-wise
operations on its own elements.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

ENV_VAR = "NNFRAME_NUM_THREADS"

_setting: int | None = None  # set_num_threads; None: the environment variable or the cores
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_inside = threading.local()  # marks nnframe's worker threads: nested work runs serially
_blas_threads_function: Callable[[], int] | None = None
_blas_probed = False


def available_cores() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def set_num_threads(threads: int | None) -> None:
    """Use at most ``threads`` threads for nnframe's own parallel work; None: back to
    ``NNFRAME_NUM_THREADS``, else the available cores."""
    global _setting
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                or threads < 1):
        raise ValueError(f"set_num_threads expects a positive integer or None, got {threads!r}")
    _setting = threads


def configured_threads() -> int:
    """The setting: `set_num_threads`, else ``NNFRAME_NUM_THREADS``, else the cores."""
    if _setting is not None:
        return _setting
    value = os.environ.get(ENV_VAR, "").strip()
    if value:
        try:
            threads = int(value)
        except ValueError:
            threads = 0
        if threads >= 1:
            return threads
        import warnings

        warnings.warn(f"{ENV_VAR}={value!r} is not a positive integer; using the available "
                      "cores", RuntimeWarning, stacklevel=3)
    return available_cores()


def num_threads() -> int:
    """Threads nnframe's parallel work may use now: the setting, capped by NumPy's BLAS."""
    threads = configured_threads()
    blas = blas_threads()
    return max(1, min(threads, blas) if blas else threads)


def blas_threads() -> int | None:
    """How many threads NumPy's OpenBLAS may use now (threadpoolctl changes it), or None
    where that cannot be asked (another BLAS, or a platform without /proc)."""
    function = _blas_function()
    if function is None:
        return None
    try:
        return int(function())
    except (OSError, ValueError):  # pragma: no cover - a library that misbehaves
        return None


def _blas_function() -> Callable[[], int] | None:
    """OpenBLAS's ``get_num_threads`` from the library NumPy loaded, found once."""
    global _blas_threads_function, _blas_probed
    if _blas_probed:
        return _blas_threads_function
    _blas_probed = True
    import numpy  # noqa: F401  (loads the BLAS library, so that it is mapped)

    names = ("openblas_get_num_threads", "openblas_get_num_threads64_",
             "scipy_openblas_get_num_threads", "scipy_openblas_get_num_threads64_")
    for path in _mapped_libraries("blas"):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            function = getattr(library, name, None)
            if function is not None:
                function.restype = ctypes.c_int
                function.argtypes = []
                _blas_threads_function = function
                return function
    return None


def _mapped_libraries(fragment: str) -> list[str]:
    """Paths of the shared libraries mapped into this process whose name has ``fragment``."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            fields = (line.split(None, 5) for line in maps)
            paths = {f[5].strip() for f in fields if len(f) == 6}
    except OSError:
        return []
    return sorted(p for p in paths
                  if fragment in os.path.basename(p).lower() and ".so" in p)


def ranges(size: int, min_chunk: int, align: int = 1,
           threads: int | None = None) -> list[tuple[int, int]]:
    """[start, stop) pieces of ``range(size)``, one per thread, each at least ``min_chunk``
    long and starting on a multiple of ``align``; one piece when the work is too small."""
    threads = num_threads() if threads is None else threads
    pieces = max(1, min(threads, size // max(min_chunk, 1)))
    if pieces == 1:
        return [(0, size)]
    align = max(align, 1)
    units = -(-size // align)
    per = -(-units // pieces)
    bounds = [min(i * per * align, size) for i in range(pieces + 1)]
    return [(lo, hi) for lo, hi in itertools.pairwise(bounds) if hi > lo]


def run(work: Callable[[int, int], object], size: int, *, min_chunk: int,
        align: int = 1) -> None:
    """Call ``work(start, stop)`` over pieces covering ``range(size)`` (see `ranges`), the
    first on this thread and the others on the pool; return when all are done. An
    exception in any piece is raised here. Work started by a worker runs serially."""
    if getattr(_inside, "worker", False):
        work(0, size)
        return
    pieces = ranges(size, min_chunk, align)
    if len(pieces) == 1:
        work(0, size)
        return
    executor = _pool()
    futures: list[Future] = [executor.submit(_as_worker, work, lo, hi) for lo, hi in pieces[1:]]
    try:
        work(*pieces[0])
    finally:
        for future in futures:
            future.result()


def _as_worker(work: Callable[[int, int], object], start: int, stop: int) -> None:
    _inside.worker = True
    work(start, stop)


def _pool() -> ThreadPoolExecutor:
    """The shared worker threads (one fewer than the cores: the caller works too)."""
    global _executor
    if _executor is None:
        with _executor_lock:
            if _executor is None:
                workers = max(1, max(available_cores(), configured_threads()) - 1)
                _executor = ThreadPoolExecutor(workers, thread_name_prefix="nnframe")
    return _executor


def _forget_pool_after_fork() -> None:
    """A forked child has none of its parent's threads: it starts its own pool."""
    global _executor
    _executor = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)
