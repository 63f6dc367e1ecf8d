"""The BLAS threads while training: fixed for the run by default (the thread count
changes a product's rounding, so following the load would make one seed give different
models), one thread while the machine is busy with ``NNFRAME_BLAS_THREADS=auto``, the
user's setting back after training, each MPI process its share of the node."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe
from nnframe.speed import blas_threads, parallel

threadpoolctl = pytest.importorskip("threadpoolctl")


def numpy_blas_threads() -> int:
    """NumPy's BLAS's threads (others, such as SciPy's that numba may load, aside)."""
    info = threadpoolctl.ThreadpoolController().select(user_api="blas").info()
    mine = [e for e in info if "numpy" in e["filepath"]] or info
    return max(entry["num_threads"] for entry in mine)


class Spy(nnframe.Callback):
    def __init__(self):
        self.seen = []

    def on_batch_end(self, batch, logs):
        self.seen.append(numpy_blas_threads())


def train(callbacks):
    """One epoch of four batches."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    y = rng.integers(0, 2, 64)
    net = nnframe.Network([nnframe.layer("dense", 5, 2)]).use("cross_entropy", "sgd")
    net.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=callbacks)


@pytest.fixture
def two_cores_no_mpi(monkeypatch):
    monkeypatch.setattr(parallel, "available_cores", lambda: 2)
    monkeypatch.delenv(blas_threads.ENV_VAR, raising=False)
    for name in blas_threads.LOCAL_SIZE_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("mode", ["", "fixed"])
@pytest.mark.parametrize("busy", [True, False])
def test_by_default_the_load_does_not_change_the_blas_threads(monkeypatch, two_cores_no_mpi,
                                                              mode, busy):
    monkeypatch.setattr(parallel, "machine_busy", lambda: busy)
    monkeypatch.setenv(blas_threads.ENV_VAR, mode)
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        spy = Spy()
        train([spy])
        assert spy.seen == [2] * 4
        assert numpy_blas_threads() == 2


@pytest.mark.parametrize(("busy", "during"), [(True, 1), (False, 2)])
def test_auto_takes_one_blas_thread_while_busy_and_the_setting_back_after(
        monkeypatch, two_cores_no_mpi, busy, during):
    monkeypatch.setattr(parallel, "machine_busy", lambda: busy)
    monkeypatch.setenv(blas_threads.ENV_VAR, "auto")
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        spy = Spy()
        train([spy])
        assert spy.seen == [during] * 4
        assert numpy_blas_threads() == 2


def test_under_mpi_each_process_keeps_its_share_for_the_whole_run(monkeypatch,
                                                                  two_cores_no_mpi):
    monkeypatch.setenv("MPI_LOCALNRANKS", "2")
    busy = iter([False, True, False, True, True])
    monkeypatch.setattr(parallel, "machine_busy", lambda: next(busy, False))
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        spy = Spy()
        train([spy])
        assert spy.seen == [1] * 4
        assert numpy_blas_threads() == 2


def test_a_bad_mode_is_refused_before_training(monkeypatch):
    monkeypatch.setenv(blas_threads.ENV_VAR, "fast")
    began = []

    class Began(nnframe.Callback):
        def on_train_begin(self, logs):
            began.append(True)

    with pytest.raises(nnframe.ConfigError, match=r"NNFRAME_BLAS_THREADS is 'fast'.*auto"):
        train([Began()])
    assert not began
    assert blas_threads.blas_mode({blas_threads.ENV_VAR: " AUTO "}) == "auto"
    assert blas_threads.blas_mode({}) == "fixed"


def test_keep_leaves_the_blas_alone(monkeypatch):
    monkeypatch.setattr(parallel, "machine_busy", lambda: True)
    monkeypatch.setattr(parallel, "available_cores", lambda: 2)
    monkeypatch.setenv("MPI_LOCALNRANKS", "2")  # under MPI too
    monkeypatch.setenv(blas_threads.ENV_VAR, "keep")
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        spy = Spy()
        train([spy])
        assert spy.seen == [2] * 4


@pytest.mark.parametrize("mode", ["fixed", "auto"])
def test_a_user_limit_is_a_ceiling(monkeypatch, mode):
    monkeypatch.setattr(parallel, "machine_busy", lambda: False)
    monkeypatch.setenv(blas_threads.ENV_VAR, mode)
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        spy = Spy()
        train([spy])
        assert spy.seen == [1] * 4


def test_each_mpi_process_gets_its_share_of_the_node(monkeypatch):
    monkeypatch.setattr(parallel, "available_cores", lambda: 8)
    assert blas_threads.node_share({"MPI_LOCALNRANKS": "2"}) == 4
    assert blas_threads.node_share({"OMPI_COMM_WORLD_LOCAL_SIZE": "16"}) == 1
    assert blas_threads.node_share({"MPI_LOCALNRANKS": "x"}) == 8
    assert blas_threads.node_share({}) == 8
