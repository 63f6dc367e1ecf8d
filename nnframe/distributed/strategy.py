"""The extension point of the training loop for training on many processes.

`Strategy` is the one-process strategy, which `fit` uses unless told otherwise: every
method is what one process does alone (take the whole batch, keep its own gradients,
...). A data-parallel strategy (`nnframe.distributed.mpi.MPIStrategy`) overrides them to
split each global batch across processes and combine what they computed, so that the
loop in `nnframe.core.training` reads the same for one process and for many.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nnframe.core.contracts import MetricProtocol, OptimizerProtocol, ParameterGroup

if TYPE_CHECKING:
    from nnframe.core.network import Network
    from nnframe.speed.backward import ParameterBackward


class Strategy:
    """How training is spread over processes: here, one process does everything.

    The hooks, in the order a run calls them: `failures` around the run, `start` once;
    per batch `rows`, `begin_batch`, `forward_backward`, `share` (after forward),
    `update_metrics`, `combine`
    (after backward), `step` and `should_stop`; per epoch `end_epoch`, `metric_results`,
    `evaluate` and `any`.
    """

    #: how many processes train together
    size: int = 1
    #: this process's number, 0 to size - 1
    rank: int = 0

    @property
    def splits(self) -> bool:
        """Whether each batch is split (over processes or threads), for the banner."""
        return self.size > 1

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

    def root_first(self) -> contextlib.AbstractContextManager[None]:
        """A block rank 0 runs before the other processes: a download every process
        needs is fetched once, and the others find it in place (here, just the block)."""
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

    def forward_backward(self, network: Network, backward: ParameterBackward,
                         xb: np.ndarray, yb: np.ndarray, wb: np.ndarray | None,
                         checked: bool = False) -> tuple[np.ndarray, float] | None:
        """Run this process's forward, loss and backward passes over a batch itself (over
        threads: `nnframe.distributed.threads.ThreadStrategy`), filling the gradient
        buffer, with every layer checked on the ``checked`` first batch; the output and
        the mean loss. None (here): the training loop runs them on this thread."""
        return None

    def update_metrics(self, metrics: Sequence[MetricProtocol], y: np.ndarray | None,
                       output: np.ndarray | None) -> None:
        """Give every metric this process's targets and outputs of a batch (None: this
        process had no rows of it)."""
        if output is None:
            return
        for metric in metrics:
            metric.update(y, output)

    def share(self, loss: float, rows: int, batch_rows: int, stop_asked: bool) -> float:
        """After this process's forward pass over its ``rows`` of a global batch of
        ``batch_rows``, with ``loss`` its mean loss over them: the weight of its share,
        by which it scales the loss gradient before backward (here, 1: all of it).
        ``stop_asked``: whether this process was asked to stop (see `should_stop`)."""
        return 1.0

    def combine(self, grads: np.ndarray, loss: float) -> float:
        """After this process's backward: turn its gradient buffer into the gradient of
        the global batch's mean loss, in place, and return that loss (here, as they
        are)."""
        return loss

    def step(self, optimizer: OptimizerProtocol, group: ParameterGroup,
             clip_norm: float | None) -> bool:
        """After `combine`: scale the gradients down to global norm ``clip_norm`` when
        larger (None: never), then take the optimizer step. False, with nothing updated,
        when the gradients are not all finite (here, the whole step on this process)."""
        if not finite(group.grads):
            return False
        if clip_norm is not None:
            clip(group.grads, clip_norm)
        optimizer.step(group)
        return True

    def should_stop(self, network: Network) -> bool:
        """After a batch: whether training stops now (here, whether a callback or Ctrl-C
        set ``network.stop_training``)."""
        return network.stop_training

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true on any process."""
        return bool(flag)

    def agree(self, value: Any) -> Any:
        """Rank 0's ``value`` (JSON-like) on every process: a seed drawn at random."""
        return value

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


def finite(array: np.ndarray) -> bool:
    """Whether every value is finite: one BLAS pass in the usual case."""
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.vdot(array, array)):
            return True
    return bool(np.isfinite(array).all())  # an overflow of the sum of squares alone


def clip(grads: np.ndarray, clip_norm: float) -> None:
    """Scale the gradient buffer down to global norm ``clip_norm`` when it is larger."""
    norm = math.sqrt(float(np.vdot(grads, grads)))
    if norm > clip_norm:
        grads *= clip_norm / norm


def stream_state(bit_generator: Any, key: bytes, batch: int, rank: int) -> dict[str, Any]:
    """The state of a random stream of its own for (shared state ``key``, batch, rank):
    each process's (`MPIStrategy`) or each thread's share (`ThreadStrategy`) of a batch
    draws its random numbers (dropout) from one."""
    digest = hashlib.blake2b(key + f"/{batch}/{rank}".encode(), digest_size=32).digest()
    if isinstance(bit_generator, np.random.PCG64):  # nnframe's: set its 128-bit state
        return {"bit_generator": "PCG64",
                "state": {"state": int.from_bytes(digest[:16], "little"),
                          "inc": int.from_bytes(digest[16:], "little") | 1},
                "has_uint32": 0, "uinteger": 0}
    seed = np.random.SeedSequence(int.from_bytes(digest, "little"))
    return type(bit_generator)(seed).state


class ShareStreams:
    """`stream_state` for each batch and share of an epoch, keyed by the generator state
    every process shares that epoch (encoded once per epoch, not once per batch)."""

    def __init__(self) -> None:
        self._key: tuple[dict[str, Any], bytes] | None = None

    def state(self, bit_generator: Any, shared_state: dict[str, Any], batch: int,
              share: int) -> dict[str, Any]:
        key = self._key
        if key is None or key[0] is not shared_state:  # a new epoch
            key = self._key = (shared_state, repr(shared_state).encode())
        return stream_state(bit_generator, key[1], batch, share)
