"""NumPy's BLAS threads during training: one while the machine is busy, and under an MPI
launcher each process's share of the node's cores.

On a host whose cores are all taken, a second BLAS thread waits to be scheduled and spins
when it is: on a loaded 2-core host an epoch took several times the CPU at 2 threads, and
``OPENBLAS_NUM_THREADS=1`` made the mlp and cnn epochs several times faster in wall time.
nnframe already keeps its own element-wise work on the calling thread while Linux reports
CPU pressure (`nnframe.speed.parallel.machine_busy`); `BlasGate` applies the same verdict to the
BLAS for the length of `Network.fit`: checked before every batch (the pressure is read at
most once a second), the limit changed only when the verdict changes, and the BLAS's own
setting put back when training ends. Under ``mpiexec`` the processes of one node share its
cores: each gets ``cores // processes on the node`` BLAS threads (at least one), as the
launcher reports them (``MPI_LOCALNRANKS``, ``OMPI_COMM_WORLD_LOCAL_SIZE``).

It needs threadpoolctl (the ``threads`` extra, which scikit-learn also brings); without it,
or with ``NNFRAME_BLAS_THREADS=keep``, the BLAS is left as it is. A limit set by the user
(``OPENBLAS_NUM_THREADS``, ``threadpool_limits``) is a ceiling the gate never raises.
"""

from __future__ import annotations

import os
from typing import Any

from nnframe.speed import parallel

ENV_VAR = "NNFRAME_BLAS_THREADS"
"""``NNFRAME_BLAS_THREADS=keep``: leave NumPy's BLAS threads alone during training."""
#: Environment variables in which MPI launchers give the processes on this node.
LOCAL_SIZE_VARS = ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE",
                   "MV2_COMM_WORLD_LOCAL_SIZE")


def node_share(environ: dict[str, str] | None = None) -> int:
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

    def __init__(self, controller: Any, ceiling: int) -> None:
        self._controller = controller
        self.ceiling = ceiling
        """The threads when the machine is not busy: the BLAS's own setting, capped by
        the node's share."""
        self.current: int | None = None
        self._restore: Any = None

    @classmethod
    def start(cls) -> BlasGate | None:
        """A gate over the loaded BLAS, or None (no threadpoolctl, no BLAS found, or
        ``NNFRAME_BLAS_THREADS=keep``)."""
        if os.environ.get(ENV_VAR, "").strip().lower() == "keep":
            return None
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            return None
        controller = ThreadpoolController().select(user_api="blas")
        own = [library.num_threads for library in controller.lib_controllers]
        if not own:
            return None
        gate = cls(controller, max(1, min(max(own), node_share())))
        gate.update()
        return gate

    def update(self) -> None:
        """One BLAS thread while the machine is busy, `ceiling` otherwise."""
        wanted = 1 if parallel.machine_busy() else self.ceiling
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
