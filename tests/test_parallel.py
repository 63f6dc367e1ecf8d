"""nnframe.parallel: how work is cut, how many threads, and that nothing is lost on the way."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

from nnframe import parallel


@pytest.fixture
def threads(monkeypatch):
    """Set the thread count, with BLAS's limit out of the way; restored afterwards."""
    monkeypatch.setattr(parallel, "blas_threads", lambda: None)
    yield parallel.set_num_threads
    parallel.set_num_threads(None)


@pytest.mark.parametrize(("size", "min_chunk", "align", "count"),
                         [(10, 4, 1, 2), (10, 20, 1, 1), (1000, 10, 64, 3), (7, 1, 1, 3),
                          (0, 1, 1, 1), (130, 64, 64, 2)])
def test_ranges_cover_the_work_once_aligned_and_large_enough(threads, size, min_chunk, align,
                                                              count):
    threads(3)
    pieces = parallel.ranges(size, min_chunk, align)
    assert len(pieces) == count
    assert pieces[0][0] == 0 and pieces[-1][1] == size
    for (_, stop), (start, _) in itertools.pairwise(pieces):
        assert stop == start and start % align == 0
    if count > 1:
        assert all(stop - start >= 1 for start, stop in pieces)


def test_run_does_every_piece_on_several_threads(threads):
    threads(2)
    out = np.zeros(100_000)
    seen = set()

    def work(start, stop):
        seen.add(threading.get_ident())
        np.add(out[start:stop], 1.0, out=out[start:stop])

    parallel.run(work, out.size, min_chunk=10_000)
    assert np.all(out == 1.0)
    assert len(seen) == 2


def test_small_work_and_one_thread_stay_on_the_calling_thread(threads):
    caller = threading.get_ident()
    seen = []
    threads(4)
    parallel.run(lambda a, b: seen.append((threading.get_ident(), a, b)), 100, min_chunk=1000)
    threads(1)
    parallel.run(lambda a, b: seen.append((threading.get_ident(), a, b)), 10**6, min_chunk=1)
    assert seen == [(caller, 0, 100), (caller, 0, 10**6)]


def test_an_error_in_a_worker_reaches_the_caller(threads):
    threads(2)

    def work(start, stop):
        if start > 0:
            raise ZeroDivisionError("in a worker")

    with pytest.raises(ZeroDivisionError, match="in a worker"):
        parallel.run(work, 100, min_chunk=10)


def test_work_started_inside_a_worker_runs_there(threads):
    threads(2)
    inner, workers = [], []

    def work(start, stop):
        if start > 0:
            workers.append(threading.get_ident())
        parallel.run(lambda a, b: inner.append((threading.get_ident(), a, b)), 50,
                     min_chunk=1)

    parallel.run(work, 100, min_chunk=10)
    (worker,) = workers
    assert (worker, 0, 50) in inner  # one serial run, no waiting on its own pool


def test_the_setting_the_environment_and_the_blas_limit(monkeypatch):
    monkeypatch.setattr(parallel, "_setting", None)
    monkeypatch.setattr(parallel, "blas_threads", lambda: None)
    monkeypatch.setenv(parallel.ENV_VAR, "3")
    assert parallel.num_threads() == 3
    monkeypatch.delenv(parallel.ENV_VAR)
    assert parallel.num_threads() == parallel.available_cores()
    monkeypatch.setenv(parallel.ENV_VAR, "many")
    with pytest.warns(RuntimeWarning, match="NNFRAME_NUM_THREADS"):
        assert parallel.num_threads() == parallel.available_cores()
    parallel.set_num_threads(5)
    assert parallel.num_threads() == 5
    monkeypatch.setattr(parallel, "blas_threads", lambda: 2)  # threadpool_limits(2), say
    assert parallel.num_threads() == 2
    parallel.set_num_threads(None)
    with pytest.raises(ValueError, match="positive integer"):
        parallel.set_num_threads(0)


def test_threadpoolctl_limits_hold_for_nnframe_threads():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if parallel.blas_threads() is None:
        pytest.skip("NumPy's BLAS does not say how many threads it uses")
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        assert parallel.blas_threads() == 1
        assert parallel.num_threads() == 1
