"""Data-parallel training on MPI, through mpi4py (the extra ``nnframe[mpi]``).

Every process holds the whole model and the whole data set, and takes its own contiguous
share of the rows of every global batch (the batch ``fit`` was given). Per batch, the
processes' gradient buffers are summed, each computed from a loss gradient weighted by
the process's share of the batch, so the sum is the gradient of the mean loss over the
global batch. When the optimizer is element-wise (`nnframe.distributed.sharding`) a
reduce-scatter gives each process the sum over its slice of the buffer, each steps its
slice (with optimizer state for it alone), and an all-gather gives every process every
updated slice; otherwise one allreduce sums the whole buffer and every process takes the
whole step. Either way every process holds the model one process would have trained.
Alongside, a second allreduce of three numbers gives every process the batch's loss (so
all see the same one, and stop together if it diverges), whether any process was asked
to stop (Ctrl-C, a callback), so that all stop after the same batch, and (sharded)
whether any process's gradients are not finite. A request
made after a batch's forward pass is agreed with the next batch, so on many processes
training stops one batch later than asked.

What one process alone would have done, and how it is kept:

- the weights, layer state, optimizer state, random generator and training position are
  broadcast from rank 0 before the first batch, after checking that every process was
  given the same data and settings;
- every process shuffles with the same generator, so all agree on the order of samples;
  layers that draw random numbers (dropout) draw, on each process and for each batch, from
  a stream of their own derived from the shared one, so masks are independent across
  processes and a resumed run draws the same ones again;
- layer state (batch norm's running statistics) is updated by each process from its own
  share of the batch, then averaged across processes at the end of every epoch, before
  validation and checkpoints;
- metrics are computed on rank 0 from every process's targets and outputs, gathered
  every ``METRIC_FLUSH_BATCHES`` batches and at the end of the epoch, and broadcast;
  validation data is split across processes the same way.

A process that raises stops every process: `failures` prints one line naming the rank
and calls ``MPI_Abort``. A process that stops answering (killed without the launcher
noticing, stuck) is caught by a watchdog: a process that waits longer than
``NNFRAME_MPI_TIMEOUT`` seconds (default 600) in one collective operation exits.
"""

from __future__ import annotations

import array
import contextlib
import math
import os
import stat
import sys
import threading
import time
import traceback
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from nnframe.core.contracts import MetricProtocol, OptimizerProtocol, ParameterGroup
from nnframe.distributed.sharding import Shard, is_elementwise
from nnframe.distributed.strategy import ShareStreams, Strategy, even_rows, finite
from nnframe.errors import (
    ConfigError,
    DataError,
    NNFrameError,
    TrainingDivergedError,
)
from nnframe.extras import install_hint, require

if TYPE_CHECKING:
    from nnframe.core.network import Network

INSTALL_HINT = install_hint("mpi")
TIMEOUT_VARIABLE = "NNFRAME_MPI_TIMEOUT"
DEFAULT_TIMEOUT_S = 600.0
#: batches of metric inputs each process keeps before sending them to rank 0
METRIC_FLUSH_BATCHES = 64
#: how long a failing process other than rank 0 waits before it speaks, so that when
#: every process fails the same way (a bad argument) the user reads rank 0's line once
ROOT_FIRST_S = 1.0


def import_mpi() -> Any:
    """The ``mpi4py.MPI`` module (which starts MPI), or `MissingExtraError`."""
    return require("mpi4py.MPI", "mpi", "training on several processes", package="mpi4py")


class MPIStrategy(Strategy):
    """Data parallelism over the processes of an MPI communicator (all of them by
    default): ``net.fit(x, y, ..., strategy=MPIStrategy())`` in a script started by
    ``mpiexec -n N``. ``fit(strategy="mpi")`` builds one.

    ``timeout`` (seconds; default ``$NNFRAME_MPI_TIMEOUT`` or 600, 0 for none) bounds
    how long a process waits for the others in one collective operation. ``expected``
    is the number of processes the launcher started (checked against MPI's).
    ``shard_step`` (default True): shard the optimizer step across the processes when
    the optimizer is element-wise (see `nnframe.distributed.sharding`); False: every
    process takes the whole step, as an optimizer that is not element-wise always does.
    """

    def __init__(self, comm: Any = None, *, timeout: float | None = None,
                 expected: int | None = None, shard_step: bool = True) -> None:
        mpi = import_mpi()
        self.comm = mpi.COMM_WORLD if comm is None else comm
        self.size, self.rank = self.comm.Get_size(), self.comm.Get_rank()
        if expected is not None and expected != self.size:
            raise ConfigError(
                f"the launcher started {expected} processes, but MPI sees {self.size}: "
                "mpi4py is built for another MPI than the launcher's; start nnframe with "
                "the mpiexec of the MPI mpi4py uses (the one installed beside it by "
                f"{INSTALL_HINT})")
        self._sum, self._max = mpi.SUM, mpi.MAX
        self._in_place = mpi.IN_PLACE
        self._watchdog = _Watchdog.shared(_timeout(timeout), self.rank, self.size)
        self._number = np.zeros(1, np.float64)
        # a batch's loss x rows, stop requests, gradients not finite (sharded step)
        self._totals = np.zeros(3, np.float64)
        self._totals_request: Any = None
        self._rows = self._batch_rows = 0
        self._stop_agreed = False
        self._pending: list[tuple[np.ndarray, np.ndarray] | None] = []
        self._guarded = False
        self._streams = ShareStreams()
        self.shard_step = bool(shard_step)
        self._shard: Shard | None = None  # this process's slice of the step, this run
        self._optimizer: OptimizerProtocol | None = None
        self._state_sliced = False  # whether the optimizer holds its slice's state alone
        self._squares = np.zeros(1, np.float64)  # the gradients' sum of squares

    @property
    def sharded(self) -> bool:
        """Whether this run shards the optimizer step (set by `start`)."""
        return self._shard is not None

    def describe(self) -> str:
        return f"{self.size} processes (MPI)"

    # -- failures ------------------------------------------------------------------------

    @contextlib.contextmanager
    def failures(self, show_traceback: bool = True) -> Iterator[None]:
        """Any error in the block stops every process: one line names this rank, then
        ``MPI_Abort`` (status 2 for an nnframe error, 130 for Ctrl-C, else 1). A
        divergence is decided together (every process sees the same loss) and is
        raised as usual. An outer guard handles what an inner one sees."""
        if self._guarded:
            yield
            return
        self._guarded = True
        try:
            yield
        except TrainingDivergedError:  # every process raises it after the same batch
            self._whole_state()
            raise
        except BaseException as exc:
            if _is_success(exc):
                raise
            self.abort(exc, show_traceback)
        finally:
            self._guarded = False

    def abort(self, exc: BaseException, show_traceback: bool = True) -> NoReturn:
        """Say why this process stops, naming its rank, and stop every process."""
        if isinstance(exc, NNFrameError):
            status, reason = 2, str(exc)
        elif isinstance(exc, KeyboardInterrupt):
            status, reason = 130, "interrupted"
        else:
            status, reason = 1, f"{type(exc).__name__}: {exc}"
        try:
            if not self.is_root:
                time.sleep(ROOT_FIRST_S)
            if show_traceback and status == 1:
                traceback.print_exception(exc)
            print(f"nnframe: error: rank {self.rank} of {self.size}: {reason}",
                  file=sys.stderr, flush=True)
            _wait_until_read(sys.stderr.fileno())
            os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # MPI_Abort's line would repeat it
        finally:  # whatever happens above, the other processes must not wait for this one
            self.comm.Abort(status)
            os._exit(status)  # MPI_Abort may return before the launcher ends this process

    def _wait(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A collective operation, watched: a peer that never comes ends this process."""
        self._watchdog.since = time.monotonic()
        try:
            return call(*args, **kwargs)
        finally:
            self._watchdog.since = None

    # -- the start -----------------------------------------------------------------------

    @contextlib.contextmanager
    def root_first(self) -> Iterator[None]:
        """Rank 0 runs the block, then the others. Not watched: a download may take
        long, and bounds itself (an error on rank 0 still stops everyone)."""
        if not self.is_root:
            self.comm.Barrier()
        yield
        if self.is_root:
            self.comm.Barrier()

    def start(self, network: Network, data: Mapping[str, np.ndarray],
              settings: dict[str, Any]) -> None:
        """Check that every process has the same data and settings, then give every
        process rank 0's model, optimizer state, random generator and position."""
        self._pending, self._stop_agreed = [], False  # nothing left from an earlier run
        mine = {**{name: _describe_array(array) for name, array in data.items()},
                **{name: repr(value) for name, value in settings.items()}}
        everyone = self._wait(self.comm.allgather, mine)
        keys = list(dict.fromkeys(key for described in everyone for key in described))
        differences = [f"{key} is {everyone[0].get(key, 'missing')} on rank 0 but "
                       f"{theirs.get(key, 'missing')} on rank {rank}"
                       for rank, theirs in enumerate(everyone)
                       for key in keys if theirs.get(key) != everyone[0].get(key)]
        if differences:
            raise DataError("the processes were not given the same training run: "
                            + "; ".join(differences[:3]) + "; every process must load "
                            "the same data and call fit with the same arguments")
        self._wait(self.comm.Bcast, network.parameters().values, root=0)
        shared = None
        if self.is_root:
            shared = {"state": network.state(), "rng": network.rng.bit_generator.state,
                      "optimizer": network.optimizer.state_dict(),
                      "train_state": network.train_state}
        shared = self._wait(self.comm.bcast, shared, root=0)
        if not self.is_root:
            for key, value in network.state().items():
                np.copyto(value, shared["state"][key])
            network.rng.bit_generator.state = shared["rng"]
            network.optimizer.load_state_dict(shared["optimizer"])
            network.train_state = shared["train_state"]
        self._optimizer, self._state_sliced = network.optimizer, False
        self._shard = None
        if self.shard_step and is_elementwise(network.optimizer):
            self._shard = Shard.of(network.parameters(), self.rank, self.size)

    # -- every batch ---------------------------------------------------------------------

    def rows(self, begin: int, end: int) -> tuple[int, int]:
        return even_rows(begin, end, self.rank, self.size)

    def begin_batch(self, rng: np.random.Generator, shared_state: dict[str, Any],
                    batch: int) -> None:
        """Point the network's generator at a stream of this process and batch, derived
        from the state every process shares this epoch."""
        rng.bit_generator.state = self._streams.state(rng.bit_generator, shared_state, batch,
                                                      self.rank)

    def update_metrics(self, metrics: Sequence[MetricProtocol], y: np.ndarray | None,
                       output: np.ndarray | None) -> None:
        """Keep this process's share (None when it had no rows); every
        `METRIC_FLUSH_BATCHES` batches, rank 0 takes everyone's into the metrics."""
        if not metrics:
            return
        self._pending.append(None if output is None else (y.copy(), output.copy()))
        if len(self._pending) >= METRIC_FLUSH_BATCHES:
            self._flush_metrics(metrics)

    def _flush_metrics(self, metrics: Sequence[MetricProtocol]) -> None:
        shares = self._wait(self.comm.gather, self._pending, root=0)
        self._pending = []
        if self.is_root:
            for batch in zip(*shares, strict=True):  # in the order of the global batch
                for share in batch:
                    if share is not None:
                        for metric in metrics:
                            metric.update(*share)

    def share(self, loss: float, rows: int, batch_rows: int, stop_asked: bool) -> float:
        """Start summing the batch's loss and stop requests (done in `combine`; with the
        step sharded, started there, beside whether the gradients are finite); the
        weight of this share is its fraction of the global batch."""
        self._totals[:] = (loss * rows, 1.0 if stop_asked else 0.0, 0.0)
        if self._shard is None:
            self._totals_request = self.comm.Iallreduce(self._in_place, self._totals,
                                                        op=self._sum)
        self._rows, self._batch_rows = rows, batch_rows
        return rows / batch_rows

    def combine(self, grads: np.ndarray, loss: float) -> float:
        """Sum every process's gradient buffer: the gradient of the mean loss over the
        global batch, in place (or, when the step is sharded, this process's slice of
        it, in the slice's own buffer). Returns that loss."""
        if not self._rows:  # no rows of this batch here: the buffer holds the last one's
            grads.fill(0)
        shard = self._shard
        if shard is None:
            self._wait(self.comm.Allreduce, self._in_place, grads, op=self._sum)
        else:  # whether any process's gradients are not finite travels with the loss
            self._totals[2] = 0.0 if finite(grads) else 1.0
            self._totals_request = self.comm.Iallreduce(self._in_place, self._totals,
                                                        op=self._sum)
            if shard.even:
                self._wait(self.comm.Reduce_scatter_block, grads, shard.group.grads,
                           op=self._sum)
            else:
                self._wait(self.comm.Reduce_scatter, grads, shard.group.grads,
                           shard.counts, op=self._sum)
        self._wait(self._totals_request.Wait)
        self._stop_agreed = bool(self._totals[1] > 0)
        return float(self._totals[0]) / self._batch_rows

    def step(self, optimizer: OptimizerProtocol, group: ParameterGroup,
             clip_norm: float | None) -> bool:
        """Sharded: unless some process's gradients were not finite (every process
        learnt it in `combine`), every process steps its slice, scaled to the global
        norm (the slices' sums of squares, summed), then all gather the updated values
        in place. A sum of finite gradients that overflows float32 is not caught here:
        it shows as the next batch's loss, a divergence."""
        shard = self._shard
        if shard is None:
            return super().step(optimizer, group, clip_norm)
        if self._totals[2]:
            return False
        grads = shard.group.grads
        if clip_norm is not None:
            with np.errstate(over="ignore", invalid="ignore"):
                self._squares[0] = np.vdot(grads, grads)
            if not np.isfinite(self._squares[0]):  # a float32 overflow, or not finite
                wide = grads.astype(np.float64)
                self._squares[0] = np.vdot(wide, wide)
            self._wait(self.comm.Allreduce, self._in_place, self._squares, op=self._sum)
            norm = math.sqrt(float(self._squares[0]))
            if not math.isfinite(norm):
                return False
            if norm > clip_norm:
                grads *= clip_norm / norm
        self._slice_state()
        optimizer.step(shard.group)
        self._gather(group.values)
        return True

    def _gather(self, buffer: np.ndarray) -> None:
        """Every process's slice of a flat buffer laid out like the values, in place."""
        shard = self._shard
        if shard.even:
            self._wait(self.comm.Allgather, self._in_place, buffer)
        else:
            self._wait(self.comm.Allgatherv, self._in_place,
                       [buffer, (shard.counts, shard.displacements)])

    def _slice_state(self) -> None:
        """Cut the optimizer's whole state down to this process's slice (the first
        sharded step of a run, and of each epoch)."""
        if self._state_sliced or self._shard is None or self._optimizer is None:
            return
        optimizer = self._optimizer
        optimizer.load_state_dict(self._shard.slice_state(optimizer.state_dict()))
        self._state_sliced = True

    def _whole_state(self) -> None:
        """Give every process the optimizer's whole state again, in the layout of a
        model file, from every process's slice (at the end of each epoch, when training
        stops, and before a divergence is raised)."""
        if not self._state_sliced or self._shard is None or self._optimizer is None:
            return
        self._state_sliced = False
        shard, optimizer = self._shard, self._optimizer
        sliced = optimizer.state_dict()
        listed = [(slot, dtype.str) for slot, dtype in shard.local_slots(sliced).items()]
        slots: dict[str, np.dtype] = {}
        for theirs in self._wait(self.comm.allgather, listed):
            for slot, dtype in theirs:
                slots.setdefault(slot, np.dtype(dtype))
        buffers = {}
        for slot, dtype in slots.items():
            buffer = np.zeros(len(shard.whole.values), dtype)
            shard.fill(buffer, sliced, slot)
            self._gather(buffer)
            buffers[slot] = buffer
        optimizer.load_state_dict(shard.whole_state(buffers, shard.shared_values(sliced)))

    def should_stop(self, network: Network) -> bool:
        """Whether any process had been asked to stop when this batch was combined."""
        if self._stop_agreed:
            network.stop_training = True
        return self._stop_agreed

    def agree(self, value: Any) -> Any:
        return self._wait(self.comm.bcast, value, root=0)

    def any(self, flag: bool) -> bool:
        self._number[0] = 1.0 if flag else 0.0
        self._wait(self.comm.Allreduce, self._in_place, self._number, op=self._max)
        return bool(self._number[0])

    # -- every epoch ---------------------------------------------------------------------

    def end_epoch(self, network: Network, shared_state: dict[str, Any]) -> None:
        """The shared random state back on every process; float layer state averaged
        across processes, other layer state taken from rank 0; the optimizer's whole
        state on every process (for checkpoints, validation and callbacks)."""
        network.rng.bit_generator.state = shared_state
        self._whole_state()
        state = network.state()
        floats = [value for value in state.values() if value.dtype.kind == "f"]
        if floats:
            total = np.concatenate([value.ravel() for value in floats], dtype=np.float64)
            self._wait(self.comm.Allreduce, self._in_place, total, op=self._sum)
            total /= self.size
            start = 0
            for value in floats:
                np.copyto(value, total[start:start + value.size].reshape(value.shape),
                          casting="unsafe")
                start += value.size
        others = {key: value for key, value in state.items() if value.dtype.kind != "f"}
        if others:
            taken = self._wait(self.comm.bcast, others if self.is_root else None, root=0)
            for key, value in others.items():
                np.copyto(value, taken[key])

    def metric_results(self, metrics: Sequence[MetricProtocol]) -> dict[str, float]:
        if not metrics:
            return {}
        self._flush_metrics(metrics)
        results = super().metric_results(metrics) if self.is_root else None
        return self._wait(self.comm.bcast, results, root=0)

    def evaluate(self, network: Network, x: np.ndarray, y: np.ndarray,
                 metrics: list[MetricProtocol]) -> dict[str, float]:
        """Each process predicts its share of the validation data; rank 0 scores every
        share, in order, and tells the others."""
        from nnframe.constants import PREDICT_CHUNK

        first, last = self.rows(0, len(x))
        chunks = [slice(a, min(a + PREDICT_CHUNK, last)) for a in range(first, last, PREDICT_CHUNK)]
        mine = [(y[chunk], network.forward(x[chunk])) for chunk in chunks]
        shares = self._wait(self.comm.gather, mine, root=0)
        scores = None
        if self.is_root:
            scores = network.score_outputs([pair for share in shares for pair in share],
                                           metrics)
        return self._wait(self.comm.bcast, scores, root=0)


class _Watchdog:
    """A thread that ends this process when it has waited longer than ``timeout``
    seconds (0: no limit) in one collective operation (``since``: when the wait began).

    It calls no MPI function (a stuck MPI library could hold a lock it needs): it says
    why and exits, and the launcher then stops the other processes.
    """

    _instance: _Watchdog | None = None
    POLL_S = 0.5

    def __init__(self) -> None:
        self.timeout, self.rank, self.size = 0.0, 0, 1
        self.since: float | None = None
        threading.Thread(target=self._watch, name="nnframe-mpi-watchdog", daemon=True).start()

    @classmethod
    def shared(cls, timeout: float, rank: int, size: int) -> _Watchdog:
        """The process's one watchdog, set for the latest strategy."""
        if cls._instance is None:
            cls._instance = cls()
        watchdog = cls._instance
        watchdog.timeout, watchdog.rank, watchdog.size = timeout, rank, size
        return watchdog

    def _watch(self) -> None:
        while True:
            time.sleep(self.POLL_S)
            since = self.since
            if since is not None and 0 < self.timeout < time.monotonic() - since:
                message = (f"nnframe: error: rank {self.rank} of {self.size}: no answer "
                           f"from the other processes for {self.timeout:g} s (one of them "
                           f"died or hangs); stopping (the limit is ${TIMEOUT_VARIABLE})\n")
                os.write(2, message.encode())
                os._exit(1)


def _wait_until_read(fd: int, limit_s: float = 2.0) -> None:
    """Wait until the launcher has read what this process wrote to ``fd`` (a pipe to
    mpiexec), at most ``limit_s``: MPI_Abort ends the processes that forward output, and
    the line that says why must not be lost with them."""
    try:
        import fcntl
        import termios

        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return  # a terminal or a file: written already
        unread = array.array("i", [0])
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            fcntl.ioctl(fd, termios.FIONREAD, unread)
            if not unread[0]:
                break
            time.sleep(0.01)
        time.sleep(0.1)  # read is not yet passed on
    except (ImportError, OSError, ValueError):
        time.sleep(0.5)


def _is_success(exc: BaseException) -> bool:
    """A successful exit (``sys.exit(0)``, ``typer.Exit()``) is no failure."""
    if isinstance(exc, SystemExit):
        return exc.code in (0, None)
    return type(exc).__name__ == "Exit" and getattr(exc, "exit_code", None) == 0


def _timeout(timeout: float | None) -> float:
    if timeout is None:
        text = os.environ.get(TIMEOUT_VARIABLE, "").strip()
        try:
            timeout = float(text) if text else DEFAULT_TIMEOUT_S
        except ValueError:
            raise ConfigError(f"${TIMEOUT_VARIABLE} must be a number of seconds (0 for no "
                              f"limit), got {text!r}") from None
    if not timeout >= 0:
        raise ConfigError(f"the MPI timeout must be a number of seconds >= 0, got {timeout!r}")
    return float(timeout)


def _describe_array(array: np.ndarray) -> str:
    """Shape, dtype and a checksum of a sample of rows: equal on every process that
    loaded the same data."""
    step = max(1, len(array) // 64)
    checksum = zlib.crc32(np.ascontiguousarray(array[::step]).tobytes())
    return f"{array.shape} {array.dtype} (checksum {checksum:08x})"
