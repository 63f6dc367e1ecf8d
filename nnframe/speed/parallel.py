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

A second thread pays only if a core is free for it. Where Linux reports CPU pressure (the
share of the last 10 s in which some task waited for a CPU, read at most once a second),
work stays on the calling thread while it is above `BUSY_PRESSURE`: on a machine whose
cores are all taken, handing out pieces made element-wise work 5-65% slower, waiting for a
worker that the scheduler had not run yet.

The results never depend on the number of threads: each chunk runs the same element-wise
operations on its own elements.
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

ENV_VAR = "NNFRAME_NUM_THREADS"

_setting: int | None = None  # set_num_threads; None: the environment variable or the cores
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_inside = threading.local()  # marks nnframe's worker threads: nested work runs serially
_blas_threads_function: Callable[[], int] | None = None
_blas_probed = False
#: Pieces per thread: small enough to share out again when one thread lags behind.
PIECES_PER_THREAD = 2
#: Element-wise work below this many elements per piece stays on one thread: handing a
#: piece to another thread costs tens of microseconds, what NumPy needs for about
#: 100,000 float32 elements of a simple ufunc.
ELEMENTWISE_MIN = 131_072
#: Arrays below this many elements are never split (two pieces of `ELEMENTWISE_MIN`): a
#: layer may test ``x.size < SPLIT_MIN`` and call NumPy directly, skipping the bookkeeping.
SPLIT_MIN = 2 * ELEMENTWISE_MIN
#: CPU pressure (percent) from which the machine counts as busy: no core to spare.
BUSY_PRESSURE = 50.0
_PRESSURE_FILE = "/proc/pressure/cpu"
_pressure = {"read_at": -1e9, "busy": False}


@functools.cache
def available_cores() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one), as
    found on first use."""
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
           pieces: int | None = None) -> list[tuple[int, int]]:
    """[start, stop) pieces of ``range(size)``, at most ``pieces`` (default: the threads),
    each at least ``min_chunk`` long and starting on a multiple of ``align``; one piece
    when the work is too small to split."""
    pieces = num_threads() if pieces is None else pieces
    pieces = max(1, min(pieces, size // max(min_chunk, 1)))
    if pieces == 1:
        return [(0, size)]
    align = max(align, 1)
    units = -(-size // align)
    per = -(-units // pieces)
    bounds = [min(i * per * align, size) for i in range(pieces + 1)]
    return [(lo, hi) for lo, hi in itertools.pairwise(bounds) if hi > lo]


def run(work: Callable[[int, int], object], size: int, *, min_chunk: int,
        align: int = 1) -> None:
    """Call ``work(start, stop)`` over pieces covering ``range(size)``, each at least
    ``min_chunk`` long (see `ranges`), on this thread and the pool's; return when all are
    done. An exception in any piece is raised here. Work started by a worker runs there.

    The pieces are claimed one by one, by whichever thread is free: on a machine whose
    other cores are busy, this thread does them all rather than wait for a worker to be
    scheduled, so splitting costs little more than handing the work out.
    """
    threads = 1 if getattr(_inside, "worker", False) else num_threads()
    pieces = ranges(size, min_chunk, align, PIECES_PER_THREAD * threads)
    if threads == 1 or len(pieces) == 1 or machine_busy():
        work(0, size)
        return
    claim = itertools.count()  # next() on it is atomic under the GIL

    def drain() -> None:
        for index in claim:
            if index >= len(pieces):
                return
            work(*pieces[index])

    executor = _pool()
    helpers = min(threads, len(pieces)) - 1
    futures: list[Future] = [executor.submit(_as_worker, drain) for _ in range(helpers)]
    try:
        drain()
    finally:
        for future in futures:
            if not future.cancel():  # started: wait for its last piece
                future.result()


def split_rows(work: Callable[[int, int], object], rows: int, row_size: int) -> None:
    """``work(start, stop)`` over rows of ``row_size`` elements each, over threads when
    every piece gets at least `ELEMENTWISE_MIN` elements, else ``work(0, rows)`` here."""
    if rows < 2 or rows * row_size < SPLIT_MIN:
        work(0, rows)
        return
    run(work, rows, min_chunk=-(-ELEMENTWISE_MIN // max(row_size, 1)))


def split_batch(work: Callable[..., object], *arrays: np.ndarray) -> None:
    """Call ``work(*pieces)`` with matching pieces of ``arrays`` along their first axis
    (the batch), over threads when each piece gets at least `ELEMENTWISE_MIN` elements;
    with the whole arrays, on this thread, otherwise. ``work`` writes its results into
    an output among the arrays, so the pieces must not overlap in what they write."""
    first = arrays[0]
    if first.ndim == 0 or first.size < SPLIT_MIN or len(first) < 2:
        work(*arrays)
        return
    split_rows(lambda start, stop: work(*(a[start:stop] for a in arrays)), len(first),
               first.size // len(first))


def elementwise(function: Callable[..., object], x: np.ndarray) -> np.ndarray:
    """``function(x)`` as a new array (``function(x, out)`` must write it into ``out``),
    over threads (`split_batch`) when ``x`` is large enough and a core is free; a plain
    call otherwise. Layers call it for their element-wise maths: the rule stays one
    readable function, the threading is this module's business."""
    if x.size < SPLIT_MIN:
        return function(x)
    y = np.empty(x.shape, np.result_type(x, 0.0))
    split_batch(function, x, y)
    return y


def add_rows(y: np.ndarray, row: np.ndarray) -> None:
    """``y += row`` for every row of ``y`` (a bias), in place, over threads when ``y`` is
    large enough and a core is free."""
    if y.size < SPLIT_MIN:
        y += row
    else:
        split_batch(lambda part: np.add(part, row, out=part), y)


def machine_busy() -> bool:
    """Whether every core is taken by others (CPU pressure at least `BUSY_PRESSURE`);
    False where the OS does not say. Read at most once a second."""
    now = time.monotonic()
    if now - _pressure["read_at"] >= 1.0:
        _pressure["read_at"] = now
        _pressure["busy"] = (cpu_pressure() or 0.0) >= BUSY_PRESSURE
    return _pressure["busy"]


def cpu_pressure() -> float | None:
    """Linux's CPU pressure over the last 10 s, in percent; None where unavailable."""
    try:
        with open(_PRESSURE_FILE, encoding="ascii") as file:
            first = file.readline().split()
    except OSError:
        return None
    for field in first[1:]:
        if field.startswith("avg10="):
            try:
                return float(field[6:])
            except ValueError:
                return None
    return None


def _as_worker(drain: Callable[[], None]) -> None:
    _inside.worker = True
    drain()


def _pool() -> ThreadPoolExecutor:
    """The shared worker threads (one fewer than the cores: the caller works too)."""
    global _executor
    if _executor is None:
        with _executor_lock:
            if _executor is None:
                from concurrent.futures import ThreadPoolExecutor  # only when first needed

                workers = max(1, max(available_cores(), configured_threads()) - 1)
                _executor = ThreadPoolExecutor(workers, thread_name_prefix="nnframe")
    return _executor


def _forget_pool_after_fork() -> None:
    """A forked child has none of its parent's threads: it starts its own pool."""
    global _executor
    _executor = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)
