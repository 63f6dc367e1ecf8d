"""The training loop, apart from the model: epochs of shuffled mini-batches.

`Network.fit` checks its arguments, makes a `Trainer` and runs it. Per batch: gather the
samples, set the scheduled learning rate, forward (training), loss, metrics, backward down
to the first layer with parameters, optional gradient clipping, one optimizer step over the
network's parameter buffer. Callbacks see the run, every epoch and every batch. When
training stops inside an epoch (Ctrl-C, a callback) the network records the exact position,
so that saving it and resuming gives the very model of an uninterrupted run.

The loop asks its `Strategy` (`nnframe.distributed`) at the few points where training on
many processes differs from training on one: which rows of a batch are this process's,
and how losses, gradients, metrics and layer state combine. The default strategy is one
process, for which each of those points is the identity.

Inputs may also be rows of a file (`nnframe.datasets.streaming.FileRows`, ``stream``):
each batch's rows are then read, in the order the same permutation gives, on a background
thread (`nnframe.datasets.prefetch.Prefetch`) a few batches ahead of the compute.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from nnframe import registry
from nnframe.arguments import check_int
from nnframe.atomic import check_writable
from nnframe.blas_threads import BlasGate, blas_mode
from nnframe.callbacks import History, ModelCheckpoint, ProgressDisplay
from nnframe.contracts import (
    Callback,
    LossProtocol,
    MetricProtocol,
    OptimizerProtocol,
    ScheduleProtocol,
)
from nnframe.datasets.prefetch import Prefetch
from nnframe.datasets.streaming import is_streamed
from nnframe.distributed import Strategy
from nnframe.errors import ConfigError, DataError, NetworkStateError, TrainingDivergedError
from nnframe.inputs import as_inputs, as_targets, check_same_length
from nnframe.layer_checks import (
    backward_parameters_agrees,
    checked_backward,
    checked_forward,
)
from nnframe.parameters import unbound
from nnframe.weights import sample_weights

if TYPE_CHECKING:
    from nnframe.network import Network


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
    verbose: int = 1
    #: how training is spread over processes (one, by default)
    strategy: Strategy = attrs.field(factory=Strategy)
    #: each training sample's weight in the loss (None: all alike)
    weights: np.ndarray | None = attrs.field(default=None, repr=False)
    #: the batches being read ahead from a file (streamed data), while an epoch runs
    _feed: Prefetch | None = attrs.field(default=None, init=False, repr=False)
    #: the BLAS threads while training runs (`nnframe.blas_threads`); None: left alone
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
        _training_optimizer(network, learning_rate)
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
            _check_weighted(network, strategy)
        if validation_data is None and validation_split:
            x, y, validation_data = _split(x, y, validation_split)
            weights = None if weights is None else weights[:len(x)]
        if not network.built:
            network.build(x.shape[1:], seed=seed)
        elif seed is not None:
            network.rng.bit_generator.state = np.random.default_rng(seed).bit_generator.state
            network.resume_point = None  # a new random stream: no exact resume
        network.check_inputs(x)
        output_shape = network.output_shape
        y = network.targets_for(y, output_shape, "y")
        if streamed:
            _check_no_adapting(network, x)
        else:
            adapt_leading(network, x)
        validation = None
        if validation_data is not None:
            validation = _validation_arrays(network, validation_data)
        if isinstance(schedule, str):
            schedule = registry.create("schedule", schedule)
        return cls(network, x, y, int(epochs), int(batch_size), bool(shuffle), validation,
                   list(callbacks or ()), schedule,
                   None if clip_norm is None else float(clip_norm), int(initial_epoch),
                   verbose, strategy,
                   None if weights is None else weights.astype(network.dtype))

    # -- the run -------------------------------------------------------------------------

    def run(self) -> History:
        """Train from ``initial_epoch`` up to ``epochs``; returns the `History`."""
        network = self.network
        strategy = self.strategy
        strategy.start(network, self._arrays(), self._settings())
        history = History()
        # on many processes, callbacks that print or write run on rank 0 alone
        display = ProgressDisplay.for_verbosity(self.verbose) if strategy.is_root else None
        mine = [c for c in self.callbacks
                if strategy.is_root or not getattr(c, "root_only", False)]
        callbacks = CallbackList([history, *mine, *([display] if display else [])], network)
        steps = math.ceil(len(self.x) / self.batch_size)
        metrics = network.metrics_for(self.y, network.output_shape)
        val_metrics = (network.metrics_for(self.validation[1], network.output_shape)
                       if self.validation is not None else [])
        logged = _logged_names(metrics, val_metrics, self.validation is not None)
        for component in (self.schedule, *self.callbacks):
            check_logs = getattr(component, "check_logs", None)
            if check_logs is not None:
                check_logs(logged)
        _check_output_paths(mine)
        blas_mode()  # a bad $NNFRAME_BLAS_THREADS is refused before any callback runs
        if any(isinstance(c, ModelCheckpoint) for c in mine):
            check_saveable(network)  # a checkpoint must not fail after the first epoch
        self._start_schedule(steps)
        network.stop_training = False
        # the epochs done are those the run starts from: a stop inside its first epoch
        # must not be saved beside a count left by an earlier, longer run
        network.epoch = self.initial_epoch
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
            settings.update(run_description(self.network, self.schedule, self.callbacks))
        return settings

    def _epochs(self, steps: int, metrics: list[MetricProtocol],
                val_metrics: list[MetricProtocol], callbacks: CallbackList) -> None:
        network = self.network
        for epoch in range(self.initial_epoch, self.epochs):
            callbacks.on_epoch_begin(epoch, {})
            logs = self._epoch(epoch, steps, metrics, callbacks)
            if logs is None:
                return  # stopped inside the epoch: network.resume_point says where
            if self.validation is not None:
                scores = self.strategy.evaluate(network, *self.validation, val_metrics)
                logs.update({f"val_{key}": value for key, value in scores.items()})
            network.epoch = epoch + 1
            self._end_schedule(epoch, logs)
            callbacks.on_epoch_end(epoch, logs)
            if self.strategy.any(network.stop_training):
                network.stop_training = True
                return

    def _epoch(self, epoch: int, steps: int, metrics: list[MetricProtocol],
               callbacks: CallbackList) -> dict[str, float] | None:
        """One epoch; its logs, or None when training stopped before its last batch."""
        network = self.network
        strategy = self.strategy
        loss_fn: LossProtocol = network.loss
        optimizer: OptimizerProtocol = network.optimizer
        rng = network.rng
        point = network.resume_point
        resuming = point is not None and point.get("epoch") == epoch
        epoch_rng = point["epoch_rng"] if resuming else rng.bit_generator.state
        if resuming:
            current = rng.bit_generator.state
            rng.bit_generator.state = epoch_rng
        order = rng.permutation(len(self.x)) if self.shuffle else None
        shared_rng = rng.bit_generator.state  # the same on every process
        if resuming:
            rng.bit_generator.state = current
        first_batch = point["batch"] if resuming else 0
        total_loss = float(point.get("loss_sum", 0.0)) if resuming else 0.0
        seen = int(point.get("seen", 0)) if resuming else 0
        network.resume_point = None
        feed = self._feed = self._prefetch(order, first_batch, steps)
        gather = _BatchGather(self.x, self.y, self.batch_size, self.weights) \
            if self.shuffle and feed is None else None
        wb = None
        group = network.parameters()
        backward = _ParameterBackward(network.layers)
        snapshot = network.snapshot()
        for metric in metrics:
            metric.reset()
        # the position after the last batch trained: where an error leaves the network
        position = point if resuming else None
        try:
            for batch in range(first_batch, steps):
                if self._blas is not None:
                    self._blas.update()
                begin = batch * self.batch_size
                end = min(begin + self.batch_size, len(self.x))
                first, last = strategy.rows(begin, end)  # this process's rows of the batch
                if feed is not None:
                    xb, yb, wb = feed.get(batch)
                elif order is None:
                    xb, yb = self.x[first:last], self.y[first:last]
                    if self.weights is not None:
                        wb = self.weights[first:last]
                else:
                    xb, yb = gather(order[first:last])
                    wb = gather.weights_of(len(xb))
                if self.schedule is not None:
                    optimizer.learning_rate = float(self.schedule.rate(epoch * steps + batch))
                strategy.begin_batch(rng, shared_rng, batch)
                checked = epoch == self.initial_epoch and batch == first_batch
                output, inputs, loss = self._forward(xb, yb, checked, wb)
                weight = strategy.share(loss, len(xb), end - begin, network.stop_training)
                strategy.update_metrics(metrics, yb, output)
                if output is not None:  # None: no rows of this batch on this process
                    grad = loss_fn.backward()
                    if weight != 1.0:  # this process's part of the global batch's mean loss
                        grad = grad * weight
                    if checked:
                        backward.checked(grad, inputs)
                    else:
                        backward(grad)
                # the global batch's loss and gradient (one process: its own, unchanged)
                loss = strategy.combine(group.grads, loss)
                if not math.isfinite(loss):
                    self._diverged(loss, epoch, batch, snapshot, xb)
                if not _finite(group.grads):
                    self._bad_gradients(loss, epoch, batch)
                if self.clip_norm is not None:
                    _clip(group.grads, self.clip_norm)
                optimizer.step(group)
                if checked:
                    _check_bound(network, group)
                total_loss += loss * (end - begin)
                seen += end - begin
                position = {"epoch": epoch, "batch": batch + 1, "epoch_rng": epoch_rng,
                            "loss_sum": total_loss, "seen": seen}
                callbacks.on_batch_end(batch, {"loss": loss})
                if batch + 1 < steps and strategy.should_stop(network):
                    strategy.end_epoch(network, shared_rng)
                    network.resume_point = position
                    return None
        except TrainingDivergedError:
            raise  # the weights were restored or kept as its message says
        except BaseException:  # a callback or a layer failed: saving it resumes exactly
            network.resume_point = position
            raise
        strategy.end_epoch(network, shared_rng)
        logs = {"loss": total_loss / max(seen, 1)}
        logs.update(strategy.metric_results(metrics))
        return logs

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

    # -- schedule ------------------------------------------------------------------------

    def _start_schedule(self, steps: int) -> None:
        if self.schedule is None:
            return
        state = self.network.training_state
        resuming = self.initial_epoch > 0 or self.network.resume_point is not None
        base = state.get("base_learning_rate") if resuming else None
        if base is None:
            base = self.network.optimizer.learning_rate
        self.schedule.start(float(base), steps, self.epochs)
        saved = state.get("schedule")
        if resuming and saved and hasattr(self.schedule, "load_state_dict"):
            self.schedule.load_state_dict(saved)
        state["base_learning_rate"] = float(base)

    def _end_schedule(self, epoch: int, logs: dict[str, float]) -> None:
        if self.schedule is None:
            return
        end_epoch = getattr(self.schedule, "end_epoch", None)
        if end_epoch is not None:
            end_epoch(epoch, logs)
        if hasattr(self.schedule, "state_dict"):
            self.network.training_state["schedule"] = self.schedule.state_dict()

    # -- divergence ----------------------------------------------------------------------

    def _diverged(self, loss: float, epoch: int, batch: int,
                  snapshot: dict[str, np.ndarray], xb: np.ndarray) -> None:
        network = self.network
        kept = "the weights of the last finite step are kept"
        first = _first_nonfinite_output(network, xb)  # where, while the weights are finite
        arrays = [p.value for p in network.parameters()] + list(network.state().values())
        if not all(np.isfinite(a).all() for a in arrays if np.asarray(a).dtype.kind == "f"):
            network.restore(snapshot)
            kept = "the weights and layer state from the start of this epoch were restored"
            first = None
        where = ""
        if first is not None:
            where = (f" ({first} is the first to give NaN or infinite outputs for this "
                     "batch, from finite inputs)")
        raise TrainingDivergedError(
            f"the loss became {loss} at epoch {epoch + 1}, batch {batch + 1}{where}; {kept}. "
            f"Try a smaller learning rate (now {network.optimizer.learning_rate}), "
            "clip_norm, or scale the inputs"
        )

    def _bad_gradients(self, loss: float, epoch: int, batch: int) -> None:
        """The loss is finite but the gradients are not: find the layer whose backward
        made them so (the weights are not updated), instead of blaming the learning rate."""
        culprit = _first_nonfinite_backward(self.network)
        which = culprit or "a layer's backward"
        raise TrainingDivergedError(
            f"{which} gave NaN or infinite gradients at epoch {epoch + 1}, batch "
            f"{batch + 1}, although the loss ({loss:.6g}) and the gradient it was given were "
            "finite; the weights were not updated. This is a bug in that backward (or an "
            "overflow inside it), not a learning-rate problem: check it with "
            "nnframe.testing.check_layer")


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


def _first_nonfinite_output(network: Network, x: np.ndarray) -> str | None:
    """The label of the first layer whose output for ``x`` is not finite though its input
    is (None if none is, or the forward fails)."""
    from nnframe.identity import layer_label

    try:
        with np.errstate(all="ignore"):
            for index, layer in enumerate(network.layers):
                if not np.isfinite(x).all():
                    return None
                x = np.asarray(layer.forward(x, training=False))
                if x.dtype.kind == "f" and not np.isfinite(x).all():
                    return layer_label(index, layer)
    except Exception:  # a diagnosis only: the divergence is reported all the same
        return None
    return None


def _first_nonfinite_backward(network: Network) -> str | None:
    """Run the last batch's backward again, layer by layer from the loss, and name the
    first whose parameter gradients or dE/dX are not finite for a finite dE/dY (the
    layers still hold that batch's forward)."""
    from nnframe.identity import layer_label

    try:
        with np.errstate(all="ignore"):
            grad = np.asarray(network.loss.backward())
            if not np.isfinite(grad).all():
                return "the loss"
            for index in range(len(network.layers) - 1, -1, -1):
                layer = network.layers[index]
                grad = np.asarray(layer.backward(grad))
                params_finite = all(np.isfinite(g).all() for g in layer.grads.values())
                if not params_finite or not np.isfinite(grad).all():
                    return layer_label(index, layer)
    except Exception:  # a diagnosis only
        return None
    return None


def run_description(network: Network, schedule: Any, callbacks: Sequence[Callback]
                    ) -> dict[str, str]:
    """Each component of a run as one line (``"sgd from nnframe 0.4 {"learning_rate":
    0.1}"``), keyed by what it is, with nnframe's version: what the processes of a
    distributed run compare before training. Callbacks that are not registered (Ctrl-C
    handling, a display on one process) are left out."""
    from nnframe._version import __version__
    from nnframe.identity import component_of
    from nnframe.roundtrip import config_text

    def line(kind: str, component: Any) -> str:
        found = component_of(kind, component)
        name = (f"{found.name} from {found.distribution} {found.version}" if found is not None
                else type(component).__name__)
        try:
            return f"{name} {config_text(component)}"
        except (TypeError, ValueError):
            return name

    described = {"nnframe version": __version__, "loss": line("loss", network.loss),
                 "optimizer": line("optimizer", network.optimizer)}
    for index, layer in enumerate(network.layers):
        described[f"layer {index}"] = line("layer", layer)
        for key, inner in _inner_layers(layer):
            described[f"layer {index}.{key}"] = line("layer", inner)
    for metric in network.metrics:
        described[f"metric {metric.name}"] = line("metric", metric)
    if schedule is not None:
        described["schedule"] = line("schedule", schedule)
    registered = [c for c in callbacks if component_of("callback", c) is not None]
    for index, callback in enumerate(registered):
        described[f"callback {index}"] = line("callback", callback)
    return described


def _inner_layers(layer: Any) -> list[tuple[str, Any]]:
    from nnframe.identity import children

    found = []
    for key, child in children(layer):
        found.append((key, child))
        found += [(f"{key}.{inner}", deeper) for inner, deeper in _inner_layers(child)]
    return found


def check_saveable(network: Network) -> None:
    """Everything `Network.save` checks (every component registered, every config plain
    JSON that rebuilds it), before training: a `ModelFileError` now, not after an epoch."""
    from nnframe.errors import ModelFileError
    from nnframe.saving import encode

    try:
        encode(network)
    except ModelFileError as exc:
        raise ModelFileError(f"{exc} (found before training; nothing was trained)") from None


def _check_output_paths(callbacks: Sequence[Callback]) -> None:
    """Refuse, before training, a file a callback would fail to write after it."""
    for callback in callbacks:
        output_paths = getattr(callback, "output_paths", None)
        for path in output_paths() if output_paths is not None else ():
            check_writable(path, f"{type(callback).__name__}'s path",
                           create_directories=True)


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


def _check_weighted(network: Network, strategy: Strategy) -> None:
    """Weights need a loss that takes them, and (for now) one process."""
    from nnframe.contracts.loss import accepts_sample_weight
    from nnframe.identity import component_name

    if not accepts_sample_weight(network.loss):
        raise ConfigError(f"the loss {component_name('loss', network.loss)} takes no "
                          "sample_weight, so sample_weight and class_weight cannot weight "
                          "it; use a loss whose forward takes sample_weight=None (every "
                          "built-in loss does)")
    if strategy.size > 1:
        raise ConfigError("sample_weight and class_weight are not supported when training "
                          "on several processes yet; train on one process")


def _training_optimizer(network: Network, learning_rate: float | None) -> OptimizerProtocol:
    if network.loss is None:
        raise NetworkStateError("no loss chosen: call use(loss, optimizer) before fit(), "
                                "for example net.use('mse', 'sgd')")
    if learning_rate is not None and (isinstance(learning_rate, bool) or not isinstance(
            learning_rate, (int, float)) or not 0 <= learning_rate < math.inf):
        raise ConfigError(f"learning_rate must be a number >= 0 and finite, got {learning_rate!r}")
    if network.optimizer is None:
        if learning_rate is None:
            raise NetworkStateError("no optimizer: call use(loss, optimizer) or pass "
                                    "fit(..., learning_rate=0.1) for plain SGD")
        network.optimizer = registry.create("optimizer", "sgd", learning_rate=learning_rate)
    elif learning_rate is not None:
        network.optimizer.learning_rate = float(learning_rate)
    return network.optimizer


def _validation_arrays(network: Network, data: Any) -> tuple[np.ndarray, np.ndarray]:
    try:
        x_val, y_val = data
    except (TypeError, ValueError):
        raise DataError("validation_data must be a pair (x_val, y_val)") from None
    x_val = as_inputs(x_val, network.dtype, "x_val", "training")
    y_val = as_targets(y_val, network.dtype, "y_val", "training")
    check_same_length(x_val, y_val, ("x_val", "y_val"))
    network.check_inputs(x_val, "x_val")
    y_val = network.targets_for(y_val, network.output_shape, "y_val")
    return x_val, y_val


def _split(x: np.ndarray, y: np.ndarray, fraction: float):
    """The last ``fraction`` of the samples, as Keras holds them out (a data set given to
    `Network.fit` is split shuffled and stratified instead)."""
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"validation_split must be in (0, 1), got {fraction!r}")
    cut = len(x) - round(len(x) * fraction)
    if cut <= 0 or cut >= len(x):
        raise DataError(f"validation_split={fraction} leaves no training or no validation "
                        f"samples out of {len(x)}")
    return x[:cut], y[:cut], (x[cut:], y[cut:])


def _check_no_adapting(network: Network, x: Any) -> None:
    """Rows read from a file cannot adapt a ``standardize`` layer (that needs them all)."""
    from nnframe.identity import layer_label

    for index, layer in enumerate(network.layers):
        if layer.params:
            return
        if hasattr(layer, "adapt") and not getattr(layer, "adapted", True):
            raise ConfigError(
                f"{layer_label(index, layer)}: adapts on all the training samples, "
                f"but {x.where} is read batch by batch (stream); give it its mean and "
                "standard deviation, adapt it on a sample first (layer.adapt(x_sample)), or "
                "leave stream unset")


def adapt_leading(network: Network, x: np.ndarray) -> None:
    """Adapt every layer with ``adapt`` (``standardize``) that was never adapted and comes
    before the first layer with parameters, on the training samples as they reach it."""
    leading = []
    for layer in network.layers:
        if layer.params:
            break
        leading.append(layer)
    if not any(hasattr(layer, "adapt") and not getattr(layer, "adapted", True)
               for layer in leading):
        return
    for layer in leading:
        if hasattr(layer, "adapt") and not getattr(layer, "adapted", True):
            layer.adapt(x)
        x = layer.forward(x)
