"""nnframe.speed.parallel: how work is cut, how many threads, and that nothing is lost on the
way."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

from nnframe.speed import parallel


@pytest.fixture
def threads(monkeypatch):
    """Set the thread count, with BLAS's limit out of the way; restored afterwards."""
    monkeypatch.setattr(parallel, "blas_threads", lambda: None)
    monkeypatch.setattr(parallel, "machine_busy", lambda: False)
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


def test_run_does_every_piece_once(threads):
    threads(2)
    out = np.zeros(100_000)

    def work(start, stop):
        np.add(out[start:stop], 1.0, out=out[start:stop])

    for _ in range(20):
        parallel.run(work, out.size, min_chunk=10_000)
    assert np.all(out == 20.0)


def test_a_free_worker_takes_pieces(threads):
    threads(2)
    caller = threading.get_ident()
    helped = threading.Event()
    seen = []

    def work(start, stop):
        seen.append((start, stop))
        if threading.get_ident() != caller:
            helped.set()
        else:  # hold the caller until a worker has claimed a piece (or give up)
            helped.wait(timeout=10)

    parallel.run(work, 1000, min_chunk=100)
    assert helped.is_set()
    assert sorted(seen) == parallel.ranges(1000, 100, pieces=2 * parallel.PIECES_PER_THREAD)


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
    caller = threading.get_ident()
    inner = []

    def work(start, stop):
        parallel.run(lambda a, b: inner.append((threading.get_ident(), a, b)), 50,
                     min_chunk=1)

    for _ in range(10):
        parallel.run(work, 100, min_chunk=10)
    from_workers = [entry for entry in inner if entry[0] != caller]
    # a worker never hands work to the pool it belongs to: one serial run, all of it
    assert all(entry[1:] == (0, 50) for entry in from_workers)
    assert sum(b - a for _, a, b in inner) == 10 * 4 * 50


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


def test_a_busy_machine_keeps_the_work_on_the_calling_thread(threads, monkeypatch):
    threads(2)
    monkeypatch.setattr(parallel, "machine_busy", lambda: True)
    caller = threading.get_ident()
    seen = []
    parallel.run(lambda a, b: seen.append((threading.get_ident(), a, b)), 10**6, min_chunk=1)
    assert seen == [(caller, 0, 10**6)]


def test_cpu_pressure_decides_when_the_machine_is_busy(monkeypatch, tmp_path):
    pressure = tmp_path / "cpu"
    monkeypatch.setattr(parallel, "_PRESSURE_FILE", str(pressure))
    for text, busy in [("some avg10=97.50 avg60=90.00 avg300=80.00 total=1\n", True),
                       ("some avg10=3.10 avg60=50.00 avg300=80.00 total=1\n", False),
                       (None, False)]:
        if text is None:
            pressure.unlink()
        else:
            pressure.write_text(text)
        monkeypatch.setitem(parallel._pressure, "read_at", -1e9)  # read again now
        assert parallel.machine_busy() is busy
