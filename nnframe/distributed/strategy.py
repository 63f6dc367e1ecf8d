"""The extension point of the training loop for training on many processes.

`Strategy` is the one-process strategy, which `fit` uses unless told otherwise: every
method is what one process does alone (take the whole batch, keep its own gradients,
...). A data-parallel strategy (`nnframe.distributed.mpi.MPIStrategy`) overrides them to
split each global batch across processes and combine what they computed, so that the
loop in `nnframe.training` reads the same for one process and for many.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nnframe.contracts import MetricProtocol

if TYPE_CHECKING:
    from nnframe.network import Network


class Strategy:
    """How training is spread over processes: here, one process does everything.

    The hooks, in the order a run calls them: `failures` around the run, `start` once,
    then per batch `rows`, `begin_batch`, `batch_loss`, `update_metrics`,
    `reduce_gradients` and `any`; per epoch `end_epoch`, `metric_results` and `evaluate`.
    """

    #: how many processes train together
    size: int = 1
    #: this process's number, 0 to size - 1
    rank: int = 0

    @property
    def is_root(self) -> bool:
        """Whether this process is rank 0, the one that prints and writes files."""
        return self.rank == 0

    def describe(self) -> str:
        """How training is spread, for the banner of ``nnframe train``."""
        return "1 process"

    def failures(self, show_traceback: bool = True) -> contextlib.AbstractContextManager[None]:
        """Around a whole run: what happens when this process raises (here, nothing:
        the error propagates as usual)."""
        return contextlib.nullcontext()

    def start(self, network: Network, data: Mapping[str, np.ndarray],
              settings: dict[str, Any]) -> None:
        """Before the first batch: make every process start from the same model, given
        the run's arrays and settings (which every process must share)."""

    def rows(self, begin: int, end: int) -> tuple[int, int]:
        """This process's rows ``[begin, end)`` of the global batch ``[begin, end)``."""
        return begin, end

    def begin_batch(self, rng: np.random.Generator, shared_state: dict[str, Any],
                    batch: int) -> None:
        """Before a batch's forward pass: the random stream its layers draw from (here,
        the network's generator, continuing)."""

    def batch_loss(self, loss: float, rows: int, batch_rows: int) -> float:
        """The mean loss of the global batch, from this process's mean over ``rows``."""
        return loss

    def update_metrics(self, metrics: Sequence[MetricProtocol], y: np.ndarray | None,
                       output: np.ndarray | None) -> None:
        """Give every metric this process's targets and outputs of a batch (None: this
        process had no rows of it)."""
        if output is None:
            return
        for metric in metrics:
            metric.update(y, output)

    def reduce_gradients(self, grads: np.ndarray, rows: int, batch_rows: int) -> None:
        """Turn this process's gradient buffer, the gradient of its mean loss over
        ``rows`` samples, into the gradient of the global batch's mean loss, in place."""

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true on any process (stop requests)."""
        return bool(flag)

    def end_epoch(self, network: Network, shared_state: dict[str, Any]) -> None:
        """After an epoch's last batch (or when training stops inside one): bring every
        process's random stream and layer state back together."""

    def metric_results(self, metrics: Sequence[MetricProtocol]) -> dict[str, float]:
        """Every metric's result over the epoch's batches."""
        return {metric.name: float(metric.result()) for metric in metrics}

    def evaluate(self, network: Network, x: np.ndarray, y: np.ndarray,
                 metrics: list[MetricProtocol]) -> dict[str, float]:
        """The loss and metrics of ``network`` on validation data."""
        return network.evaluate_arrays(x, y, metrics)


def even_rows(begin: int, end: int, rank: int, size: int) -> tuple[int, int]:
    """Rank ``rank``'s contiguous share of ``[begin, end)`` split ``size`` ways: shares
    differ by at most one row, the larger ones first (a share may be empty)."""
    share, extra = divmod(end - begin, size)
    start = begin + rank * share + min(rank, extra)
    return start, start + share + (1 if rank < extra else 0)
