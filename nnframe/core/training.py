"""The training loop, apart from the model: epochs of shuffled mini-batches.

`Network.fit` makes a `Trainer` (`Trainer.create` checks everything first) and runs it.
Per batch (`_Step`): forward, loss, backward down to the first layer with parameters,
optional clipping, one optimizer step over the network's one parameter buffer; callbacks
see the run, every epoch and every batch. After every batch the network's `TrainState`
says where training is, so that a run stopped inside an epoch (Ctrl-C, a callback, an
error), saved and resumed gives the very model of an uninterrupted run.

The loop asks its `Strategy` (`nnframe.distributed`) at the few points where training on
many processes differs from training on one (which rows of a batch are this process's,
how losses, gradients, metrics and layer state combine); for one process each is the
identity. Inputs may also be rows read from a file as training goes (any object with
``read(index, dtype)``): they are read in the same order, a few batches ahead, on a
background thread (`nnframe.speed.prefetch`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from nnframe.checks import fitting
from nnframe.checks.divergence import bad_gradients, diverged
from nnframe.checks.inputs import is_streamed
from nnframe.checks.layers import check_bound, checked_forward
from nnframe.core import registry
from nnframe.core.contracts import Callback, MetricProtocol, ScheduleProtocol
from nnframe.distributed.description import run_record
from nnframe.distributed.strategy import Strategy
from nnframe.speed.backward import ParameterBackward
from nnframe.speed.blas_threads import BlasGate, blas_mode
from nnframe.speed.gather import BatchGather
from nnframe.speed.prefetch import Prefetch, read_ahead

if TYPE_CHECKING:
    from nnframe.core.network import Network


@attrs.frozen
class TrainState:
    """The position of a run and what it has summed so far (all JSON-safe).

    ``epoch`` epochs are complete. ``batch`` > 0 means training stopped inside epoch
    ``epoch`` after that many batches: ``epoch_rng`` (the generator's state when that epoch
    began) replays its shuffle, and ``loss_sum`` and ``seen`` (the loss summed over its
    rows, and how many) finish its mean loss. ``schedule`` and ``base_learning_rate`` are
    the learning-rate schedule's state; ``notes`` what callbacks and the command line keep
    with the run (the data seed, a tracking run's id).
    """

    epoch: int = 0
    batch: int = 0
    epoch_rng: Mapping[str, Any] | None = None
    loss_sum: float = 0.0
    seen: int = 0
    schedule: Mapping[str, Any] | None = None
    base_learning_rate: float | None = None
    notes: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def inside_epoch(self) -> bool:
        """Whether training stopped before the end of epoch ``epoch``."""
        return self.batch > 0

    def at_epoch_start(self, epoch: int) -> TrainState:
        """This state at the start of ``epoch`` (``epoch`` epochs complete)."""
        return attrs.evolve(self, epoch=epoch, batch=0, epoch_rng=None, loss_sum=0.0, seen=0)

    def note(self, key: str, value: Any) -> TrainState:
        """This state with ``notes[key] = value`` (a JSON-safe value)."""
        return attrs.evolve(self, notes={**self.notes, key: value})

    def resume_point(self) -> dict[str, Any] | None:
        """The position inside an epoch as model files store it, or None at an epoch's start."""
        if not self.inside_epoch:
            return None
        return {"epoch": self.epoch, "batch": self.batch, "epoch_rng": self.epoch_rng,
                "loss_sum": self.loss_sum, "seen": self.seen}


class History(Callback):
    """What `Network.fit` returns: every epoch's logs (loss, metrics, ``val_`` scores),
    as ``history.history["loss"]``, Keras' layout; ``history.epoch`` lists the epochs."""

    def __init__(self) -> None:
        self.epoch: list[int] = []
        self.history: dict[str, list[float]] = {}

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, metrics={list(self.history)})"


class CallbackList:
    """Every callback of a run, called in order at each point of training."""

    def __init__(self, callbacks: Sequence[Callback], network: Network) -> None:
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            callback.set_network(network)

    def __getattr__(self, hook: str) -> Callable[..., None]:
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args: Any) -> None:
            for callback in self.callbacks:
                getattr(callback, hook)(*args)

        return call


@attrs.define
class Trainer:
    """One run of `Network.fit`: the data, the settings and the loop."""

    network: Network
    x: np.ndarray = attrs.field(repr=False)
    y: np.ndarray = attrs.field(repr=False)
    epochs: int
    batch_size: int
    shuffle: bool = True
    validation: tuple[np.ndarray, np.ndarray] | None = attrs.field(default=None, repr=False)
    callbacks: list[Callback] = attrs.field(factory=list)
    schedule: ScheduleProtocol | None = None
    clip_norm: float | None = None
    initial_epoch: int = 0
    #: the progress display (`fit(verbose=...)`), made on rank 0 only; None: silent
    display: Callback | None = None
    #: how training is spread over processes (one, by default)
    strategy: Strategy = attrs.field(factory=Strategy)
    #: each training sample's weight in the loss (None: all alike)
    weights: np.ndarray | None = attrs.field(default=None, repr=False)
    #: the batches being read ahead from a file (streamed data), while an epoch runs
    _feed: Prefetch | None = attrs.field(default=None, init=False, repr=False)
    #: the BLAS threads while training runs (`nnframe.speed.blas_threads`); None: left alone
    _blas: BlasGate | None = attrs.field(default=None, init=False, repr=False)

    @classmethod
    def create(cls, network: Network, x: Any, y: Any, *, shuffle: bool,
               callbacks: Sequence[Callback] | None, verbose: int,
               schedule: str | ScheduleProtocol | None, **arguments: Any) -> Trainer:
        """The run of ``network.fit(x, y, **arguments)``: everything checked by
        `nnframe.checks.fitting.prepare` (the data, the settings, validation data), the
        network built if it was not, the schedule and the progress display made."""
        settings = fitting.prepare(network, x, y, **arguments)
        if isinstance(schedule, str):
            schedule = registry.create("schedule", schedule)
        display = None
        if verbose and settings["strategy"].is_root:  # on many processes, one prints
            display = registry.create("callback", "progress_display", verbose=verbose)
        return cls(network, shuffle=bool(shuffle), callbacks=list(callbacks or ()),
                   schedule=schedule, display=display, **settings)

    # -- the run -------------------------------------------------------------------------

    def run(self) -> History:
        """Train from ``initial_epoch`` up to ``epochs``; returns the `History`."""
        network = self.network
        strategy = self.strategy
        strategy.start(network, *run_record(self))  # every process starts alike
        history = History()
        # on many processes, callbacks that print or write run on rank 0 alone
        mine = [c for c in self.callbacks
                if strategy.is_root or not getattr(c, "root_only", False)]
        shown = [self.display] if self.display is not None else []
        callbacks = CallbackList([history, *mine, *shown], network)
        steps = math.ceil(len(self.x) / self.batch_size)
        metrics = network.metrics_for(self.y, network.output_shape)
        val_metrics = (network.metrics_for(self.validation[1], network.output_shape)
                       if self.validation is not None else [])
        # what would fail after an epoch fails now: a log a callback needs, a path
        fitting.check_before_training(network, self.schedule, self.callbacks, mine,
                                      metrics, val_metrics, self.validation is not None)
        blas_mode()  # a bad $NNFRAME_BLAS_THREADS is refused before any callback runs
        self._start_position()
        self._start_schedule(steps)
        network.stop_training = False
        callbacks.on_train_begin({"epochs": self.epochs, "batches": steps,
                                  "samples": len(self.x), "batch_size": self.batch_size,
                                  "initial_epoch": self.initial_epoch})
        # overflow shows as a loss that is not finite, a TrainingDivergedError: no noise
        self._blas = BlasGate.start()  # the BLAS threads of the run (blas_threads)
        with np.errstate(over="ignore", invalid="ignore"):
            try:
                self._epochs(steps, metrics, val_metrics, callbacks)
            finally:
                self._close_feed()
                if self._blas is not None:
                    self._blas.close()
                callbacks.on_train_end({})
        return history

    def _start_position(self) -> None:
        """The run starts at ``initial_epoch``: inside it, where an earlier run of the same
        epoch stopped, else at its first batch (the epochs done are those the run starts
        from, never a count left by an earlier, longer run)."""
        state = self.network.train_state
        if not (state.inside_epoch and state.epoch == self.initial_epoch):
            self.network.train_state = state.at_epoch_start(self.initial_epoch)

    def _epochs(self, steps: int, metrics: list[MetricProtocol],
                val_metrics: list[MetricProtocol], callbacks: CallbackList) -> None:
        network = self.network
        for epoch in range(self.initial_epoch, self.epochs):
            callbacks.on_epoch_begin(epoch, {})
            logs = self._epoch(epoch, steps, metrics, callbacks)
            if logs is None:
                return  # stopped inside the epoch: network.train_state says where
            if self.validation is not None:
                scores = self.strategy.evaluate(network, *self.validation, val_metrics)
                logs.update({f"val_{key}": value for key, value in scores.items()})
            network.train_state = network.train_state.at_epoch_start(epoch + 1)
            self._end_schedule(epoch, logs)
            callbacks.on_epoch_end(epoch, logs)
            if self.strategy.any(network.stop_training):
                network.stop_training = True
                return

    def _epoch(self, epoch: int, steps: int, metrics: list[MetricProtocol],
               callbacks: CallbackList) -> dict[str, float] | None:
        """One epoch, from where its `TrainState` says (its first batch, or where an
        earlier run stopped); its logs, or None when training stopped before its end."""
        network, strategy = self.network, self.strategy
        order, shared_rng = self._order()
        state = network.train_state
        feed = self._feed = self._prefetch(order, state.batch, steps)
        gather = BatchGather(self.x, self.y, self.batch_size, self.weights) \
            if self.shuffle and feed is None else None
        step = _Step(network, self.clip_norm, strategy, snapshot=network.snapshot())
        for metric in metrics:
            metric.reset()
        for batch in range(first_batch := state.batch, steps):  # `state` moves on below
            if self._blas is not None:
                self._blas.update()
            begin = batch * self.batch_size
            end = min(begin + self.batch_size, len(self.x))
            first, last = strategy.rows(begin, end)  # this process's rows of the batch
            if feed is not None:
                xb, yb, wb = feed.get(batch)
            elif gather is not None:
                xb, yb = gather(order[first:last])
                wb = gather.weights_of(len(xb))
            else:
                xb, yb = self.x[first:last], self.y[first:last]
                wb = None if self.weights is None else self.weights[first:last]
            if self.schedule is not None:
                network.optimizer.learning_rate = float(
                    self.schedule.rate(epoch * steps + batch))
            strategy.begin_batch(network.rng, shared_rng, batch)
            checked = epoch == self.initial_epoch and batch == first_batch
            output, loss = step(xb, yb, wb, end - begin, epoch, batch, checked)
            network.train_state = state = TrainState(  # a sixth of attrs.evolve's cost
                epoch=state.epoch, batch=batch + 1, epoch_rng=state.epoch_rng, notes=state.notes,
                loss_sum=state.loss_sum + loss * (end - begin), seen=state.seen + end - begin,
                schedule=state.schedule, base_learning_rate=state.base_learning_rate)
            strategy.update_metrics(metrics, yb, output)
            callbacks.on_batch_end(batch, {"loss": loss})
            if batch + 1 < steps and strategy.should_stop(network):
                strategy.end_epoch(network, shared_rng)
                return None
        strategy.end_epoch(network, shared_rng)
        logs = {"loss": state.loss_sum / max(state.seen, 1)}
        logs.update(strategy.metric_results(metrics))
        return logs

    def _order(self) -> tuple[np.ndarray | None, dict[str, Any]]:
        """This epoch's permutation of the samples (None without shuffling) and the
        generator state every process shares after drawing it. A resumed epoch draws it
        again from the state saved at its start, then the generator goes on from where
        the stopped run left it."""
        network = self.network
        rng, state = network.rng, network.train_state
        if state.epoch_rng is not None:
            current = rng.bit_generator.state
            rng.bit_generator.state = state.epoch_rng
        else:
            network.train_state = attrs.evolve(state, epoch_rng=rng.bit_generator.state)
        order = None if not self.shuffle else (  # rows read in chunks draw their own order
            self.x.epoch_order(rng) if is_streamed(self.x) else rng.permutation(len(self.x)))
        shared_rng = rng.bit_generator.state  # the same on every process
        if state.epoch_rng is not None:
            rng.bit_generator.state = current
        return order, shared_rng

    def _prefetch(self, order: np.ndarray | None, first_batch: int, steps: int
                  ) -> Prefetch | None:
        """For rows read from a file: this process's rows of every batch from
        ``first_batch`` on, read ahead on a background thread (None for arrays)."""
        self._close_feed()
        if not is_streamed(self.x):
            return None
        return read_ahead(self.x, self.y, self.weights, self.network.dtype, order,
                          self.batch_size, self.strategy.rows, range(first_batch, steps))

    def _close_feed(self) -> None:
        """Stop the reading thread of the epoch that ended, or was stopped by an error."""
        if self._feed is not None:
            self._feed.close()
            self._feed = None

    # -- schedule ------------------------------------------------------------------------

    def _start_schedule(self, steps: int) -> None:
        if self.schedule is None:
            return
        network = self.network
        state = network.train_state
        resuming = self.initial_epoch > 0 or state.inside_epoch
        base = state.base_learning_rate if resuming else None
        if base is None:
            base = network.optimizer.learning_rate
        self.schedule.start(float(base), steps, self.epochs)
        if resuming and state.schedule and hasattr(self.schedule, "load_state_dict"):
            self.schedule.load_state_dict(dict(state.schedule))
        network.train_state = attrs.evolve(state, base_learning_rate=float(base))

    def _end_schedule(self, epoch: int, logs: dict[str, float]) -> None:
        if self.schedule is None:
            return
        end_epoch = getattr(self.schedule, "end_epoch", None)
        if end_epoch is not None:
            end_epoch(epoch, logs)
        if hasattr(self.schedule, "state_dict"):
            network = self.network
            network.train_state = attrs.evolve(network.train_state,
                                               schedule=self.schedule.state_dict())


class _Step:
    """One batch's forward, loss, backward and optimizer step (`__call__`), with the
    checks that keep a bad batch from reaching the weights."""

    def __init__(self, network: Network, clip_norm: float | None, strategy: Strategy,
                 snapshot: dict[str, np.ndarray]) -> None:
        self.network, self.clip_norm, self.strategy = network, clip_norm, strategy
        self.snapshot = snapshot  # the weights the epoch started from, for a divergence
        self.group = network.parameters()
        self.backward = ParameterBackward(network.layers)

    def __call__(self, xb: np.ndarray, yb: np.ndarray, wb: np.ndarray | None,
                 batch_rows: int, epoch: int, batch: int, checked: bool
                 ) -> tuple[np.ndarray | None, float]:
        """Train on this process's rows of a batch; its output and the batch's loss."""
        network, group = self.network, self.group
        # the strategy's own passes (over threads), else this thread's
        split = self.strategy.forward_backward(network, self.backward, xb, yb, wb, checked)
        output, inputs, loss = self._forward(xb, yb, checked, wb) if split is None \
            else (split[0], None, split[1])
        weight = self.strategy.share(loss, len(xb), batch_rows, network.stop_training)
        if output is not None and split is None:  # None: no rows of this batch here
            grad = network.loss.backward()
            if weight != 1.0:  # this process's part of the global batch's mean loss
                grad = grad * weight
            if checked:
                self.backward.checked(grad, inputs)
            else:
                self.backward(grad)
        # the global batch's loss and gradient (one process: its own, unchanged)
        loss = self.strategy.combine(group.grads, loss)
        if not math.isfinite(loss):
            raise diverged(network, loss, epoch, batch, self.snapshot, xb)
        if not self.strategy.step(network.optimizer, group, self.clip_norm):  # clip, step
            raise bad_gradients(network, loss, epoch, batch)
        if checked:
            check_bound(network, group)
        return output, loss

    def _forward(self, xb: np.ndarray, yb: np.ndarray, checked: bool,
                 wb: np.ndarray | None = None
                 ) -> tuple[np.ndarray | None, list[np.ndarray] | None, float]:
        """This process's forward pass over its rows: the output, every layer's input
        (on the checked first batch) and the mean loss; ``(None, None, 0.0)`` when it
        has no rows of this batch (its last batch, split across many processes)."""
        if not len(xb):
            return None, None, 0.0
        network = self.network
        inputs = None
        if checked:
            output, inputs = checked_forward(network.layers, xb, network.dtype)
        else:
            output = network.forward(xb, training=True)
        if wb is not None:
            return output, inputs, network.loss.forward(yb, output, sample_weight=wb)
        return output, inputs, network.loss.forward(yb, output)
