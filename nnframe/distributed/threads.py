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
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from nnframe.checks.layers import checked_forward
from nnframe.core.contracts import ParameterGroup
from nnframe.core.contracts.optimizer import aligned_zeros
from nnframe.distributed.strategy import Strategy, even_rows, stream_state
from nnframe.speed import parallel
from nnframe.speed.backward import ParameterBackward

if TYPE_CHECKING:
    from nnframe.core.network import Network


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
        self._workers: list[_Worker] = []
        self._blas: Any = None
        self._stream_key: tuple[Any, bytes] | None = None
        self._grads = np.empty(0)

    def describe(self) -> str:
        return f"1 process, {self.threads} thread{'s' if self.threads > 1 else ''}"

    def failures(self, show_traceback: bool = True) -> contextlib.AbstractContextManager[None]:
        """Around the run: the workers stopped and the BLAS's threads put back at its
        end, however it ends."""
        return self._closing()

    @contextlib.contextmanager
    def _closing(self) -> Iterator[None]:
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
        self._workers = [_Worker(f"nnframe-share-{share}")
                         for share in range(1, self.threads)]
        self._blas = _one_blas_thread()

    def close(self) -> None:
        """Stop the workers and give the BLAS its threads back (idempotent)."""
        for worker in self._workers:
            worker.stop()
        self._workers, self._replicas = [], []
        if self._blas is not None:
            self._blas.restore_original_limits()
            self._blas = None

    def begin_batch(self, rng: np.random.Generator, shared_state: dict[str, Any],
                    batch: int) -> None:
        """Point each replica's generator at a stream of its own for this batch (the
        network's own, which share 0 draws from, goes on as with one thread)."""
        if not self._replicas:
            return
        key = self._stream_key
        if key is None or key[0] is not shared_state:  # a new epoch
            key = self._stream_key = (shared_state, repr(shared_state).encode())
        for share, replica in enumerate(self._replicas, start=1):
            replica.rng.bit_generator.state = stream_state(replica.rng.bit_generator,
                                                            key[1], batch, share)

    def forward_backward(self, network: Network, backward: ParameterBackward,
                         xb: np.ndarray, yb: np.ndarray, wb: np.ndarray | None,
                         checked: bool = False) -> tuple[np.ndarray, float] | None:
        """The batch's forward passes over the shares, the loss of the whole output, and
        the backward passes of its gradient's shares, with the network's gradient buffer
        holding the sum; the output and the loss. None when there is one share. On the
        ``checked`` first batch, share 0's passes are checked layer by layer (the
        replicas run the same layers' code)."""
        shares = [even_rows(0, len(xb), share, self.threads) for share in range(self.threads)]
        shares = [(first, last) for first, last in shares if last > first]
        if len(shares) < 2 or not self._replicas:
            return None
        pairs = list(zip(self._replicas, self._workers, strict=True))[:len(shares) - 1]
        for (replica, worker), (first, last) in zip(pairs, shares[1:], strict=False):
            worker.submit(_bind(replica.forward, xb[first:last]))
        first, last = shares[0]
        if checked:
            mine, inputs = checked_forward(network.layers, xb[first:last], network.dtype)
        else:
            mine, inputs = network.forward(xb[first:last], training=True), []
        output = np.concatenate([mine, *(worker.result() for _, worker in pairs)])
        loss = (network.loss.forward(yb, output) if wb is None
                else network.loss.forward(yb, output, sample_weight=wb))
        grad = network.loss.backward()
        for (replica, worker), (first, last) in zip(pairs, shares[1:], strict=False):
            worker.submit(_bind(replica.backward, grad[first:last]))
        first, last = shares[0]
        if checked:
            backward.checked(grad[first:last], inputs)
        else:
            backward(grad[first:last])
        grads = self._grads
        for replica, worker in pairs:
            worker.result()
            grads += replica.grads
        if checked:  # a first layer whose backward_parameters disagreed: all drop it
            for replica in self._replicas:
                replica.follow(backward)
        return output, loss

    def end_epoch(self, network: Network, shared_state: dict[str, Any]) -> None:
        """Float layer state (batch statistics) averaged over the shares, then the same
        state in every replica."""
        if not self._replicas:
            return
        state = network.state()
        for key, value in state.items():
            theirs = [replica.state()[key] for replica in self._replicas]
            if value.dtype.kind == "f":
                total = value.astype(np.float64)
                for other in theirs:
                    total += other
                np.copyto(value, total / (1 + len(theirs)), casting="unsafe")
            for other in theirs:
                np.copyto(other, value)


@attrs.define(eq=False)
class Replica:
    """A copy of a network's layers and loss that shares its weight arrays: caches,
    buffers, layer state and gradients of its own (``grads``, laid out like the network's
    gradient buffer), and ``rng`` for the layers that draw random numbers."""

    layers: list[Any]
    loss: Any
    grads: np.ndarray
    rng: np.random.Generator
    backward_pass: ParameterBackward

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

    def backward(self, grad: np.ndarray) -> None:
        self.backward_pass(grad)

    def follow(self, backward: ParameterBackward) -> None:
        """Call the first layer with parameters as the network's ``backward`` does: its
        ``backward`` when the first batch showed its ``backward_parameters`` wrong."""
        first = backward.first
        if first is not None and backward.last == backward.layers[first].backward:
            self.backward_pass.last = self.layers[first].backward

    def state(self) -> dict[str, np.ndarray]:
        """Its layers' state, keyed as `Network.state` keys the network's."""
        return {f"{index}.{name}": value for index, layer in enumerate(self.layers)
                for name, value in getattr(layer, "state", {}).items()}


class _Worker:
    """One thread that runs the jobs it is given, one at a time."""

    def __init__(self, name: str) -> None:
        self._go, self._done = threading.Event(), threading.Event()
        self._job: Callable[[], Any] | None = None
        self._value: Any = None
        self._error: BaseException | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self._go.wait()
            self._go.clear()
            if self._stopping:
                return
            try:
                self._value, self._error = self._job(), None  # type: ignore[misc]
            except BaseException as exc:  # handed to the training thread, which raises it
                self._value, self._error = None, exc
            self._done.set()

    def submit(self, job: Callable[[], Any]) -> None:
        self._job = job
        self._done.clear()
        self._go.set()

    def result(self) -> Any:
        """The job's value; raises what the job raised."""
        self._done.wait()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self._value

    def stop(self) -> None:
        self._stopping = True
        self._go.set()
        self._thread.join()


def _bind(function: Callable[[np.ndarray], Any], argument: np.ndarray) -> Callable[[], Any]:
    return lambda: function(argument)


def _one_blas_thread() -> Any:
    """A threadpoolctl limit of the BLAS to one thread (each share is one thread's
    work), or None without threadpoolctl (the BLAS then keeps its threads)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(1, user_api="blas")
