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
    is_streamed,
    targets_for,
)
from nnframe.core import registry
from nnframe.core.contracts import Callback, OptimizerProtocol
from nnframe.core.contracts.loss import accepts_sample_weight
from nnframe.core.registry import component_name, layer_label
from nnframe.errors import ConfigError, DataError, NetworkStateError
from nnframe.modelfile.atomic import check_writable
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
    x_val = as_inputs(x_val, network.dtype, "x_val", "training")
    y_val = as_targets(y_val, network.dtype, "y_val", "training")
    check_same_length(x_val, y_val, ("x_val", "y_val"))
    check_samples(network, x_val, "x_val")
    y_val = targets_for(network, y_val, network.output_shape, "y_val")
    return x_val, y_val


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
    ``validation``, ``clip_norm``, ``initial_epoch``, ``strategy`` and ``weights``."""
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
