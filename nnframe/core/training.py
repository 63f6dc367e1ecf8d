"""The training loop, apart from the model: epochs of shuffled mini-batches.

`Network.fit` hands its arguments to `Trainer.create`, which checks them all, and runs the
trainer. Per batch (`Trainer._step`): forward (training), loss, metrics, backward down to
the first layer with parameters, optional gradient clipping, one optimizer step over the
network's one parameter buffer. Callbacks see the run, every epoch and every batch. After
every batch the network's `TrainState` says where training is, so that a run stopped
inside an epoch (Ctrl-C, a callback, an error), saved and resumed gives the very model of
an uninterrupted run.

The loop asks its `Strategy` (`nnframe.distributed`) at the few points where training on
many processes differs from training on one: which rows of a batch are this process's,
and how losses, gradients, metrics and layer state combine. The default strategy is one
process, for which each of those points is the identity.

Inputs may also be rows read from a file as training goes (any object with
``read(index, dtype)``, such as `nnframe.datasets.streaming.FileRows`): each batch's rows
are then read, in the order the same permutation gives, on a background thread
(`nnframe.speed.prefetch.Prefetch`) a few batches ahead of the compute.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from nnframe.checks import fitting
from nnframe.checks.arguments import check_int
from nnframe.checks.divergence import bad_gradients, diverged
from nnframe.checks.inputs import as_inputs, as_targets, check_same_length
from nnframe.checks.layers import backward_parameters_agrees, checked_backward, checked_forward
from nnframe.core import registry
from nnframe.core.contracts import Callback, MetricProtocol, ScheduleProtocol
from nnframe.core.parameters import unbound
from nnframe.distributed.strategy import Strategy
from nnframe.errors import ConfigError, NetworkStateError
from nnframe.speed.blas_threads import BlasGate
from nnframe.speed.prefetch import Prefetch
from nnframe.weights import sample_weights

if TYPE_CHECKING:
    from nnframe.core.network import Network


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


def is_streamed(x: Any) -> bool:
    """Whether ``x`` is rows read from a file as training goes (not an array in memory)."""
    return not isinstance(x, np.ndarray) and callable(getattr(x, "read", None))


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
    def create(cls, network: Network, x: Any, y: Any, *, epochs: int, batch_size: int,
               learning_rate: float | None, shuffle: bool, seed: int | None,
               validation_data: Any, validation_split: float,
               callbacks: Sequence[Callback] | None, verbose: int, initial_epoch: int,
               schedule: str | ScheduleProtocol | None, clip_norm: float | None,
               strategy: Strategy | None = None, sample_weight: Any = None,
               class_weight: Any = None) -> Trainer:
        """Check everything `fit` was given, build the network if needed, and return the run."""
        strategy = strategy if strategy is not None else Strategy()
        fitting.training_optimizer(network, learning_rate)
        check_int("epochs", epochs, minimum=0)
        check_int("batch_size", batch_size, minimum=1)
        check_int("initial_epoch", initial_epoch, minimum=0)
        if batch_size < strategy.size:
            raise ConfigError(f"batch_size {batch_size} is smaller than the {strategy.size} "
                              "processes training together, which split every batch; use a "
                              f"batch_size of at least {strategy.size}")
        if clip_norm is not None and (isinstance(clip_norm, bool) or not isinstance(
                clip_norm, (int, float)) or not 0 < clip_norm < math.inf):
            raise ConfigError(f"clip_norm must be a finite number > 0, got {clip_norm!r}")
        streamed = is_streamed(x)  # rows read batch by batch as training goes
        if not streamed:
            x = as_inputs(x, network.dtype, "x", "training")
        y = as_targets(y, network.dtype, "y", "training")
        check_same_length(x, y)
        classes = None if network.schema is None else network.schema.classes
        weights = sample_weights(y, sample_weight, class_weight, classes)
        if weights is not None:
            fitting.check_weighted(network, strategy)
        if validation_data is None and validation_split:
            x, y, validation_data = fitting.split(x, y, validation_split)
            weights = None if weights is None else weights[:len(x)]
        if not network.built:
            network.build(x.shape[1:], seed=seed)
        elif seed is not None:  # a new random stream: no exact resume
            network.rng.bit_generator.state = np.random.default_rng(seed).bit_generator.state
            network.train_state = network.train_state.at_epoch_start(network.epoch)
        network.check_inputs(x)
        output_shape = network.output_shape
        y = network.targets_for(y, output_shape, "y")
        if streamed:
            fitting.check_no_adapting(network, x)
        else:
            fitting.adapt_leading(network, x)
        validation = None
        if validation_data is not None:
            validation = fitting.validation_arrays(network, validation_data)
        if isinstance(schedule, str):
            schedule = registry.create("schedule", schedule)
        display = None
        if verbose and strategy.is_root:  # on many processes, one prints
            display = registry.create("callback", "progress_display", verbose=verbose)
        return cls(network, x, y, int(epochs), int(batch_size), bool(shuffle), validation,
                   list(callbacks or ()), schedule,
                   None if clip_norm is None else float(clip_norm), int(initial_epoch),
                   display, strategy,
                   None if weights is None else weights.astype(network.dtype))

    # -- the run -------------------------------------------------------------------------

    def run(self) -> History:
        """Train from ``initial_epoch`` up to ``epochs``; returns the `History`."""
        network = self.network
        strategy = self.strategy
        strategy.start(network, self._arrays(), self._settings())
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
        logged = _logged_names(metrics, val_metrics, self.validation is not None)
        for component in (self.schedule, *self.callbacks):
            check_logs = getattr(component, "check_logs", None)
            if check_logs is not None:
                check_logs(logged)
        fitting.check_output_paths(mine)
        if any(getattr(c, "saves_network", False) for c in mine):
            from nnframe.modelfile.save import check_saveable

            check_saveable(network)  # a checkpoint must not fail after the first epoch
        self._start_position()
        self._start_schedule(steps)
        network.stop_training = False
        callbacks.on_train_begin({"epochs": self.epochs, "batches": steps,
                                  "samples": len(self.x), "batch_size": self.batch_size,
                                  "initial_epoch": self.initial_epoch})
        # overflow shows as a loss that is not finite, a TrainingDivergedError: no noise
        self._blas = BlasGate.start()  # one BLAS thread while the cores are busy
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

    def _arrays(self) -> dict[str, np.ndarray]:
        x = self.x
        if is_streamed(x):  # a sample of its rows, which every process reads alike
            x = np.asarray(x[::max(1, len(x) // 64)])
        arrays = {"x": x, "y": self.y}
        if self.validation is not None:
            arrays.update(x_val=self.validation[0], y_val=self.validation[1])
        return arrays

    def _settings(self) -> dict[str, Any]:
        """What every process of a run must agree on besides its arrays: fit's settings,
        and every component of the run (registered name, version and config: a rank
        started with another learning rate is refused, not averaged into a model that
        matches neither). Computed only when several processes train."""
        settings: dict[str, Any] = {name: getattr(self, name) for name in
                                    ("epochs", "batch_size", "shuffle", "initial_epoch",
                                     "clip_norm")}
        if self.strategy.size > 1:
            from nnframe.distributed.description import run_description

            settings.update(run_description(self.network, self.schedule, self.callbacks))
        return settings

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
        gather = _BatchGather(self.x, self.y, self.batch_size, self.weights) \
            if self.shuffle and feed is None else None
        step = _Step(network, self.clip_norm, strategy, snapshot=network.snapshot())
        for metric in metrics:
            metric.reset()
        for batch in range(state.batch, steps):
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
            checked = epoch == self.initial_epoch and batch == state.batch
            output, loss = step(xb, yb, wb, end - begin, epoch, batch, checked)
            network.train_state = state = attrs.evolve(  # the weights took this batch
                state, batch=batch + 1, loss_sum=state.loss_sum + loss * (end - begin),
                seen=state.seen + end - begin)
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
        order = rng.permutation(len(self.x)) if self.shuffle else None
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
        x, y, weights, dtype = self.x, self.y, self.weights, self.network.dtype

        def make(batch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
            begin = batch * self.batch_size
            end = min(begin + self.batch_size, len(x))
            first, last = self.strategy.rows(begin, end)
            index = np.arange(first, last) if order is None else order[first:last]
            return (x.read(index, dtype), y.take(index, axis=0),
                    None if weights is None else weights.take(index))

        return Prefetch(make, range(first_batch, steps))

    def _close_feed(self) -> None:
        """Stop the reading thread of the epoch that ended, or was stopped by an error."""
        if self._feed is not None:
            self._feed.close()
            self._feed = None

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
        self.backward = _ParameterBackward(network.layers)

    def __call__(self, xb: np.ndarray, yb: np.ndarray, wb: np.ndarray | None,
                 batch_rows: int, epoch: int, batch: int, checked: bool
                 ) -> tuple[np.ndarray | None, float]:
        """Train on this process's rows of a batch; its output and the batch's loss."""
        network, group = self.network, self.group
        output, inputs, loss = self._forward(xb, yb, checked, wb)
        weight = self.strategy.share(loss, len(xb), batch_rows, network.stop_training)
        if output is not None:  # None: no rows of this batch on this process
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
        if not _finite(group.grads):
            raise bad_gradients(network, loss, epoch, batch)
        if self.clip_norm is not None:
            _clip(group.grads, self.clip_norm)
        network.optimizer.step(group)
        if checked:
            _check_bound(network, group)
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


class _ParameterBackward:
    """Backward as training needs it: down to the first layer with parameters only, which
    is asked for its parameter gradients alone (``backward_parameters``, when it offers
    one and the first batch shows it agrees with its ``backward``), since no one uses dE/dX
    of the network's input."""

    def __init__(self, layers: Sequence[Any]) -> None:
        self.layers = list(layers)
        self.first = next((i for i, layer in enumerate(layers) if layer.params), None)
        if self.first is None:
            self.steps, self.last = [], None
            return
        self.steps = [layer.backward for layer in reversed(self.layers[self.first + 1:])]
        layer = self.layers[self.first]
        self.last = getattr(layer, "backward_parameters", None) or layer.backward

    def __call__(self, grad: np.ndarray) -> None:
        if self.last is None:
            return
        for step in self.steps:
            grad = step(grad)
        self.last(grad)

    def checked(self, grad: np.ndarray, inputs: list[np.ndarray]) -> None:
        """The first batch: every shape checked, and ``backward_parameters`` compared with
        ``backward`` (a subclass that overrides only ``backward`` keeps its gradients)."""
        if self.first is None:
            return
        grad = checked_backward(self.layers, grad, inputs, self.first)
        layer = self.layers[self.first]
        if self.last == layer.backward:
            self.last(grad)
        elif not backward_parameters_agrees(self.first, layer, grad):
            self.last = layer.backward


class _BatchGather:
    """Shuffled batches copied into buffers reused from batch to batch (the samples'
    weights too, when they have some)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int,
                 weights: np.ndarray | None = None) -> None:
        size = min(batch_size, len(x))
        self.x, self.y, self.weights = x, y, weights
        self.x_batch = np.empty((size, *x.shape[1:]), x.dtype)
        self.y_batch = np.empty((size, *y.shape[1:]), y.dtype)
        self.w_batch = None if weights is None else np.empty(size, weights.dtype)

    def __call__(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        size = len(index)
        # mode="clip": the indices are valid, and "raise" would copy through a buffer
        xb = self.x.take(index, axis=0, out=self.x_batch[:size], mode="clip")
        yb = self.y.take(index, axis=0, out=self.y_batch[:size], mode="clip")
        if self.weights is not None:
            self.weights.take(index, out=self.w_batch[:size], mode="clip")
        return xb, yb

    def weights_of(self, size: int) -> np.ndarray | None:
        """The weights of the batch last gathered (None without weights)."""
        return None if self.w_batch is None else self.w_batch[:size]


def _logged_names(metrics: list[MetricProtocol], val_metrics: list[MetricProtocol],
                  validated: bool) -> frozenset[str]:
    """The names every epoch's logs will hold: the loss, the metrics, their ``val_`` twins."""
    names = {"loss", *(metric.name for metric in metrics)}
    if validated:
        names |= {f"val_{name}" for name in ("loss", *(m.name for m in val_metrics))}
    return frozenset(names)


def _finite(array: np.ndarray) -> bool:
    """Whether every value is finite: one BLAS pass in the usual case."""
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.vdot(array, array)):
            return True
    return bool(np.isfinite(array).all())  # an overflow of the sum of squares alone


def _clip(grads: np.ndarray, clip_norm: float) -> None:
    """Scale the gradient buffer down to global norm ``clip_norm`` when it is larger."""
    norm = math.sqrt(float(np.vdot(grads, grads)))
    if norm > clip_norm:
        grads *= clip_norm / norm


def _check_bound(network: Network, group: Any) -> None:
    problems = unbound(network.layers, group)
    if problems:
        raise NetworkStateError(
            f"{problems[0]} was replaced by a new array during training; a layer must "
            "write into the arrays of its params and grads dicts in place (grads[name][...] "
            f"= ..., or out=), which the network shares with the optimizer"
            + (f" (also: {', '.join(problems[1:4])})" if len(problems) > 1 else ""))


