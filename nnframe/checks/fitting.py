"""What `Network.fit` checks and prepares before the first batch: the optimizer, weighted
losses, validation data, the paths callbacks will write, and leading ``standardize``
layers adapted on the training data."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nnframe.checks.arguments import check_int
from nnframe.checks.inputs import (
    as_inputs,
    as_targets,
    check_same_length,
    check_samples,
    checked_pair,
    is_streamed,
    targets_for,
)
from nnframe.core import registry
from nnframe.core.contracts import Callback, MetricProtocol, OptimizerProtocol
from nnframe.core.contracts.loss import accepts_sample_weight
from nnframe.core.registry import component_name, layer_label
from nnframe.errors import ConfigError, DataError, NetworkStateError
from nnframe.modelfile.atomic import check_writable
from nnframe.modelfile.save import check_saveable
from nnframe.weights import sample_weights

if TYPE_CHECKING:
    from nnframe.core.network import Network
    from nnframe.distributed import Strategy


def check_output_paths(callbacks: Sequence[Callback]) -> None:
    """Refuse, before training, a file a callback would fail to write after it."""
    for callback in callbacks:
        output_paths = getattr(callback, "output_paths", None)
        for path in output_paths() if output_paths is not None else ():
            check_writable(path, f"{type(callback).__name__}'s path",
                           create_directories=True)


def check_weighted(network: Network, strategy: Strategy) -> None:
    """Weights need a loss that takes them, and (for now) one process."""
    if not accepts_sample_weight(network.loss):
        raise ConfigError(f"the loss {component_name('loss', network.loss)} takes no "
                          "sample_weight, so sample_weight and class_weight cannot weight "
                          "it; use a loss whose forward takes sample_weight=None (every "
                          "built-in loss does)")
    if strategy.size > 1:
        raise ConfigError("sample_weight and class_weight are not supported when training "
                          "on several processes yet; train on one process")


def training_optimizer(network: Network, learning_rate: float | None) -> OptimizerProtocol:
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


def validation_arrays(network: Network, data: Any) -> tuple[np.ndarray, np.ndarray]:
    try:
        x_val, y_val = data
    except (TypeError, ValueError):
        raise DataError("validation_data must be a pair (x_val, y_val)") from None
    return checked_pair(network, x_val, y_val, "training", ("x_val", "y_val"))


def split(x: np.ndarray, y: np.ndarray, fraction: float):
    """The last ``fraction`` of the samples, as Keras holds them out (a data set given to
    `Network.fit` is split shuffled and stratified instead)."""
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"validation_split must be in (0, 1), got {fraction!r}")
    cut = len(x) - round(len(x) * fraction)
    if cut <= 0 or cut >= len(x):
        raise DataError(f"validation_split={fraction} leaves no training or no validation "
                        f"samples out of {len(x)}")
    return x[:cut], y[:cut], (x[cut:], y[cut:])


def check_no_adapting(network: Network, x: Any) -> None:
    """Rows read from a file cannot adapt a ``standardize`` layer (that needs them all)."""
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


def prepare(network: Network, x: Any, y: Any, *, epochs: int, batch_size: int,
            learning_rate: float | None, seed: int | None, validation_data: Any,
            validation_split: float, initial_epoch: int, clip_norm: float | None,
            strategy: Strategy, sample_weight: Any, class_weight: Any) -> dict[str, Any]:
    """Check the data and settings `Network.fit` was given, build the network if needed,
    and return the trainer's checked fields: ``x``, ``y``, ``epochs``, ``batch_size``,
    ``validation``, ``clip_norm``, ``initial_epoch``, ``strategy`` and ``weights``.
    ``x`` may be a data set (``y`` None): a reader of files gives its rows with
    ``validation_split`` held out (`FileDataset.training_arrays`), a named data set its
    train split."""
    if is_dataset(x):
        x, y, validation_data, validation_split = dataset_arrays(
            network, x, y, sample_weight, validation_data, validation_split, seed)
    training_optimizer(network, learning_rate)
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
        check_weighted(network, strategy)
    if validation_data is None and validation_split:
        x, y, validation_data = split(x, y, validation_split)
        weights = None if weights is None else weights[:len(x)]
    if not network.built:
        network.build(x.shape[1:], seed=seed)
    elif seed is not None:  # a new random stream: no exact resume
        network.rng.bit_generator.state = np.random.default_rng(seed).bit_generator.state
        network.train_state = network.train_state.at_epoch_start(network.epoch)
    check_samples(network, x)
    output_shape = network.output_shape
    y = targets_for(network, y, output_shape, "y")
    if streamed:
        check_no_adapting(network, x)
    else:
        adapt_leading(network, x)
    validation = None
    if validation_data is not None:
        validation = validation_arrays(network, validation_data)
    return {"x": x, "y": y, "epochs": int(epochs), "batch_size": int(batch_size),
            "validation": validation,
            "clip_norm": None if clip_norm is None else float(clip_norm),
            "initial_epoch": int(initial_epoch), "strategy": strategy,
            "weights": None if weights is None else weights.astype(network.dtype)}


def is_dataset(value: Any) -> bool:
    """Whether ``value`` is a data set component (rather than arrays)."""
    return not isinstance(value, np.ndarray) and hasattr(value, "load") \
        and hasattr(value, "sample_shape")


def dataset_arrays(network: Network, data: Any, y: Any, sample_weight: Any,
                   validation_data: Any, validation_split: float, seed: int | None
                   ) -> tuple[Any, Any, Any, float]:
    """``fit(dataset)``: its inputs, targets and held-out rows, as fit's ``x``, ``y``,
    ``validation_data`` and ``validation_split`` (0: the data set held them out)."""
    if y is not None:
        raise DataError("fit(dataset) takes its targets from the data set; leave y out")
    if sample_weight is not None:
        raise DataError("fit(dataset) takes no sample_weight (its rows are split there); "
                        "use class_weight, or fit arrays with weights")
    read = getattr(data, "training_arrays", None)  # a reader of files, else its split
    x, y, validation = (read(network, validation_split, seed) if read is not None
                        else (*data.load("train"), None))
    return x, y, validation_data if validation_data is not None else validation, 0.0


def check_before_training(network: Network, schedule: Any, callbacks: Sequence[Callback],
                          running: Sequence[Callback], metrics: list[MetricProtocol],
                          val_metrics: list[MetricProtocol], validated: bool) -> None:
    """What would fail after an epoch, checked before the first batch: a log the schedule
    or a callback needs (``check_logs``), a file a callback of this process (``running``)
    would write, a network a checkpoint could not save."""
    logged = _logged_names(metrics, val_metrics, validated)
    for component in (schedule, *callbacks):
        check_logs = getattr(component, "check_logs", None)
        if check_logs is not None:
            check_logs(logged)
    check_output_paths(running)
    if any(getattr(c, "saves_network", False) for c in running):
        check_saveable(network)


def _logged_names(metrics: list[MetricProtocol], val_metrics: list[MetricProtocol],
                  validated: bool) -> frozenset[str]:
    """The names every epoch's logs will hold: the loss, the metrics, their ``val_`` twins."""
    names = {"loss", *(metric.name for metric in metrics)}
    if validated:
        names |= {f"val_{name}" for name in ("loss", *(m.name for m in val_metrics))}
    return frozenset(names)
