"""NumPy's BLAS threads during training: fixed for the run, so that one seed gives one model.

The number of BLAS threads changes results. OpenBLAS splits a matrix product's sums
between its threads differently at 1 and 2 threads, so the float rounding differs: on a
2-core AMD EPYC with OpenBLAS 0.3.31, ``x @ w`` of the mlp's shapes (784 -> 256 at batches
7 to 1,000, float32 and float64) and the weight gradient ``x.T @ g`` at batch 1,000
differed between 1 and 2 threads (float32 by up to 6e-5), while matrix-vector products
did not; three epochs of the mlp on MNIST then ended with weights up to 0.2 apart. A
thread count that followed the machine's load would make training depend on what else
the machine ran. So, by default, nnframe leaves the BLAS as the user set it
(``OPENBLAS_NUM_THREADS``, ``threadpool_limits``), except under an MPI launcher: there
the processes of one node share its cores, and each gets ``cores // processes on the
node`` BLAS threads (at least one), as the launcher reports them (``MPI_LOCALNRANKS``,
``OMPI_COMM_WORLD_LOCAL_SIZE``), which is fixed for the run.

``NNFRAME_BLAS_THREADS=auto`` trades that for speed on a shared machine: on a host whose
cores are all taken, a second BLAS thread waits to be scheduled and spins when it is (on a
loaded 2-core host an epoch took several times the CPU at 2 threads, and one thread made
the mlp and cnn epochs several times faster in wall time). `BlasGate` then applies
nnframe's CPU-pressure verdict (`nnframe.speed.parallel.machine_busy`) to the BLAS for the
length of `Network.fit`: one thread while Linux reports the cores busy, checked before
every batch (the pressure is read at most once a second), the limit changed only when
the verdict changes. Results then depend on the load. ``NNFRAME_BLAS_THREADS=keep``
leaves the BLAS alone, under MPI too. Whatever the mode, the BLAS's own setting is put
back when training ends, and a limit set by the user is a ceiling never raised.

It needs threadpoolctl (the ``threads`` extra, which scikit-learn also brings); without
it the BLAS is left as it is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from nnframe.errors import ConfigError
from nnframe.speed import parallel

ENV_VAR = "NNFRAME_BLAS_THREADS"
"""``NNFRAME_BLAS_THREADS``: ``fixed`` (the default), ``auto`` or ``keep``; see `MODES`."""
MODES = {
    "fixed": "the user's setting, under MPI each process's share of the node: fixed for "
             "the run",
    "auto": "one thread while the machine is busy, else as fixed: faster on a shared "
            "machine, but the results depend on the load",
    "keep": "NumPy's BLAS left alone, under MPI too",
}
"""The values of ``NNFRAME_BLAS_THREADS``, with what each does during `Network.fit`."""
#: Environment variables in which MPI launchers give the processes on this node.
LOCAL_SIZE_VARS = ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE",
                   "MV2_COMM_WORLD_LOCAL_SIZE")


def blas_mode(environ: Mapping[str, str] | None = None) -> str:
    """The mode ``NNFRAME_BLAS_THREADS`` asks for (``fixed`` when unset or empty);
    `ConfigError` for a value not in `MODES`."""
    env = os.environ if environ is None else environ
    mode = env.get(ENV_VAR, "").strip().lower() or "fixed"
    if mode not in MODES:
        raise ConfigError(f"${ENV_VAR} is {env[ENV_VAR]!r}; it must be one of "
                          f"{', '.join(MODES)} (unset: fixed)")
    return mode


def node_share(environ: Mapping[str, str] | None = None) -> int:
    """This process's share of the node's cores: the available cores divided by the
    processes an MPI launcher started on this node (all of them without one)."""
    env = os.environ if environ is None else environ
    for name in LOCAL_SIZE_VARS:
        try:
            local = int(env.get(name, ""))
        except ValueError:
            continue
        if local >= 1:
            return max(1, parallel.available_cores() // local)
    return parallel.available_cores()


class BlasGate:
    """Limits the BLAS threads while training; `update` before each batch, `close` after."""

    def __init__(self, controller: Any, ceiling: int, follow_load: bool = False) -> None:
        self._controller = controller
        self.ceiling = ceiling
        """The threads when the machine is not busy: the BLAS's own setting, capped by
        the node's share."""
        self.follow_load = follow_load
        """Whether `update` drops to one thread while the machine is busy (``auto``)."""
        self.current: int | None = None
        self._restore: Any = None

    @classmethod
    def start(cls) -> BlasGate | None:
        """A gate over the loaded BLAS, or None where there is nothing to do: no
        threadpoolctl, no BLAS found, ``keep``, or ``fixed`` with the BLAS already within
        the node's share."""
        mode = blas_mode()
        if mode == "keep":
            return None
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            return None
        controller = ThreadpoolController().select(user_api="blas")
        own = [library.num_threads for library in controller.lib_controllers]
        if not own:
            return None
        ceiling = max(1, min(max(own), node_share()))
        if mode == "fixed" and ceiling == max(own):
            return None
        gate = cls(controller, ceiling, follow_load=mode == "auto")
        gate.update()
        return gate

    def update(self) -> None:
        """`ceiling` threads; with `follow_load`, one while the machine is busy."""
        wanted = 1 if self.follow_load and parallel.machine_busy() else self.ceiling
        if wanted == self.current:
            return
        limiter = self._controller.limit(limits=wanted)
        if self._restore is None:  # the first change remembers the user's setting
            self._restore = limiter
        self.current = wanted

    def close(self) -> None:
        """Put the BLAS's own setting back."""
        if self._restore is not None:
            self._restore.restore_original_limits()
            self._restore = None
        self.current = None
