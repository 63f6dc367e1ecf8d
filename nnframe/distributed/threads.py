"""Data parallelism over the threads of one process: ``fit(strategy="threads")``.

Each batch is split into contiguous shares, one a thread, as `MPIStrategy` splits it over
processes. Share 0 runs on the calling thread through the network itself; each other
share runs on a worker thread through a `Replica`: a copy of the layers with their own
caches, buffers and gradients, holding the very same weight arrays. A batch takes two
meetings of the threads: the forward passes, then the loss of the whole batch's output
on the calling thread (so every loss, reduction and weighting means what it means
without threads), then the backward passes of the shares of its gradient; the replicas'
gradients are added to the network's in share order and the optimizer steps once.

Why: NumPy runs each layer's element-wise work (activations, pooling, im2col) on one
core, and the BLAS's own threads only help the matrix products, which for a small conv
net or an LSTM are a small part of a batch. Whole shares of the batch keep every core
busy from the first layer to the last, with the BLAS at one thread in each (set for the
run with threadpoolctl, the ``threads`` extra, and put back afterwards).

What changes against one thread: the sums of the weight gradients are split between the
shares, so the model equals one thread's up to float rounding; a layer that draws random
numbers (dropout) draws each worker's share from a stream of its own for (epoch, batch,
share), as each process does under MPI; and a layer that uses batch statistics
(batch_norm) sees each share's rows, its running statistics averaged over the shares at
the end of each epoch. The number of threads is fixed when the strategy is made, so one
seed gives one model on a machine, and stopping then resuming gives the uninterrupted run.
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from nnframe.checks.layers import checked_forward
from nnframe.core.contracts import ParameterGroup
from nnframe.core.contracts.optimizer import aligned_zeros
from nnframe.distributed.strategy import ShareStreams, Strategy, even_rows
from nnframe.speed import parallel
from nnframe.speed.backward import ParameterBackward

if TYPE_CHECKING:
    from nnframe.core.network import Network

#: The worker threads' names start so (``nnframe-share_0``, ...).
WORKER_NAME = "nnframe-share"


class ThreadStrategy(Strategy):
    """Data parallelism over ``threads`` threads of this process (None: as many as
    nnframe's own parallel work may use, `nnframe.speed.parallel.num_threads`)."""

    def __init__(self, threads: int | None = None) -> None:
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                    or threads < 1):
            raise ValueError(f"ThreadStrategy expects a positive number of threads or None, "
                             f"got {threads!r}")
        self.threads = threads or parallel.num_threads()
        self._replicas: list[Replica] = []
        self._workers: ThreadPoolExecutor | None = None
        self._blas: Any = None
        self._streams = ShareStreams()
        self._grads = np.empty(0)

    @property
    def splits(self) -> bool:
        return self.threads > 1

    def describe(self) -> str:
        return f"1 process, {self.threads} thread{'s' if self.threads > 1 else ''}"

    @contextlib.contextmanager
    def failures(self, show_traceback: bool = True) -> Iterator[None]:
        """Around the run: the workers stopped and the BLAS's threads put back at its
        end, however it ends."""
        try:
            yield
        finally:
            self.close()

    def start(self, network: Network, data: Mapping[str, np.ndarray],
              settings: dict[str, Any]) -> None:
        """Make one replica and worker per thread beyond the first, and hold the BLAS at
        one thread for the run."""
        self.close()
        if self.threads < 2:
            return
        group = network.parameters()
        self._grads = group.grads  # the buffer backward fills, for the whole run
        self._replicas = [Replica.of(network, group) for _ in range(self.threads - 1)]
        self._workers = ThreadPoolExecutor(self.threads - 1, thread_name_prefix=WORKER_NAME)
        self._blas = _one_blas_thread()

    def close(self) -> None:
        """Stop the workers and give the BLAS its threads back (idempotent)."""
        if self._workers is not None:
            self._workers.shutdown(wait=True, cancel_futures=True)
            self._workers = None
        self._replicas = []
        if self._blas is not None:
            self._blas.restore_original_limits()
            self._blas = None

    def begin_batch(self, rng: np.random.Generator, shared_state: dict[str, Any],
                    batch: int) -> None:
        """Point each replica's generator at a stream of its own for this batch (the
        network's own, which share 0 draws from, goes on as with one thread)."""
        for share, replica in enumerate(self._replicas, start=1):
            generator = replica.rng.bit_generator
            generator.state = self._streams.state(generator, shared_state, batch, share)

    def forward_backward(self, network: Network, backward: ParameterBackward,
                         xb: np.ndarray, yb: np.ndarray, wb: np.ndarray | None,
                         checked: bool = False) -> tuple[np.ndarray, float] | None:
        """The batch's forward passes over the shares, the loss of the whole output, and
        the backward passes of its gradient's shares, with the network's gradient buffer
        holding the sum; the output and the loss. None when there is one share. On the
        ``checked`` first batch, share 0's passes are checked layer by layer (the
        replicas run the same layers' code)."""
        shares = [even_rows(0, len(xb), share, self.threads) for share in range(self.threads)]
        (first, last), *others = [(a, b) for a, b in shares if b > a]
        if not others or self._workers is None:
            return None
        replicas = self._replicas[:len(others)]
        submit = self._workers.submit
        running = [submit(replica.forward, xb[a:b])
                   for replica, (a, b) in zip(replicas, others, strict=True)]
        if checked:
            mine, inputs = checked_forward(network.layers, xb[first:last], network.dtype)
        else:
            mine, inputs = network.forward(xb[first:last], training=True), []
        output = np.concatenate([mine, *(future.result() for future in running)])
        loss = (network.loss.forward(yb, output) if wb is None
                else network.loss.forward(yb, output, sample_weight=wb))
        grad = network.loss.backward()
        running = [submit(replica.backward, grad[a:b])
                   for replica, (a, b) in zip(replicas, others, strict=True)]
        if checked:
            backward.checked(grad[first:last], inputs)
        else:
            backward(grad[first:last])
        for replica, future in zip(replicas, running, strict=True):
            future.result()
            self._grads += replica.grads
        if checked:  # a first layer whose backward_parameters disagreed: all drop it
            for replica in self._replicas:
                replica.follow(backward)
        return output, loss

    def end_epoch(self, network: Network, shared_state: dict[str, Any]) -> None:
        """Float layer state (batch statistics) averaged over the shares, then the same
        state in every replica."""
        theirs = [replica.state() for replica in self._replicas]
        if not theirs:
            return
        for key, value in network.state().items():
            if value.dtype.kind == "f":
                total = value.astype(np.float64)
                for state in theirs:
                    total += state[key]
                np.copyto(value, total / (1 + len(theirs)), casting="unsafe")
            for state in theirs:
                np.copyto(state[key], value)


@attrs.define(eq=False)
class Replica:
    """A copy of a network's layers and loss that shares its weight arrays: caches,
    buffers, layer state and gradients of its own (``grads``, laid out like the network's
    gradient buffer), and ``rng`` for the layers that draw random numbers."""

    layers: list[Any]
    loss: Any
    grads: np.ndarray
    rng: np.random.Generator
    backward: ParameterBackward
    """Backward down to the first layer with parameters, as training runs it."""

    @classmethod
    def of(cls, network: Network, group: ParameterGroup) -> Replica:
        rng = np.random.Generator(type(network.rng.bit_generator)())
        memo: dict[int, Any] = {id(network.rng): rng}
        memo.update({id(parameter.value): parameter.value for parameter in group})
        layers = copy.deepcopy(list(network.layers), memo)  # the weights stay shared
        grads = aligned_zeros(len(group.grads), group.grads.dtype)
        for parameter, view in zip(group, group.split(grads), strict=True):
            index, _, name = parameter.key.partition(".")
            layers[int(index)].grads[name] = view
        return cls(layers, copy.deepcopy(network.loss), grads, rng, ParameterBackward(layers))

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, training=True)
        return x

    def follow(self, backward: ParameterBackward) -> None:
        """Call the first layer with parameters as the network's ``backward`` does: its
        ``backward`` when the first batch showed its ``backward_parameters`` wrong."""
        first = backward.first
        if first is not None and backward.last == backward.layers[first].backward:
            self.backward.last = self.layers[first].backward

    def state(self) -> dict[str, np.ndarray]:
        """Its layers' state, keyed as `Network.state` keys the network's."""
        return {f"{index}.{name}": value for index, layer in enumerate(self.layers)
                for name, value in getattr(layer, "state", {}).items()}


def _one_blas_thread() -> Any:
    """A threadpoolctl limit of the BLAS to one thread (each share is one thread's
    work); without threadpoolctl, the BLAS keeps its threads, with a warning when it has
    several (the shares' products then compete for the cores)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        blas = parallel.blas_threads()
        if blas is not None and blas > 1:
            warnings.warn(f'strategy="threads" runs each share\'s matrix products on NumPy\'s '
                          f"BLAS, which has {blas} threads, and cannot limit it to one "
                          "without threadpoolctl: install it (pip install 'nnframe[threads]') "
                          "or set OPENBLAS_NUM_THREADS=1", RuntimeWarning, stacklevel=2)
        return None
    return threadpool_limits(1, user_api="blas")
