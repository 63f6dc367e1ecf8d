"""What `Network.fit` checks and prepares before the first batch: the optimizer, weighted
losses, validation data, the paths callbacks will write, and leading ``standardize``
layers adapted on the training data."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nnframe.checks.inputs import as_inputs, as_targets, check_same_length
from nnframe.core import registry
from nnframe.core.contracts import Callback, OptimizerProtocol
from nnframe.core.contracts.loss import accepts_sample_weight
from nnframe.core.identity import component_name, layer_label
from nnframe.errors import ConfigError, DataError, NetworkStateError
from nnframe.modelfile.atomic import check_writable

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
    network.check_inputs(x_val, "x_val")
    y_val = network.targets_for(y_val, network.output_shape, "y_val")
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
