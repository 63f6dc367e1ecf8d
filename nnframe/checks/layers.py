"""The first training batch, run layer by layer with every result checked.

A plugin layer whose forward or backward returns the wrong shape or dtype would otherwise
fail later with a raw NumPy error that names neither the layer nor its plugin. Training
runs its first batch through these functions, which check each layer's output against
its ``output_shape`` and the network's dtype, and each dE/dX against the layer's input,
and name the layer, its registered name and its distribution when something is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nnframe.core.parameters import unbound
from nnframe.core.registry import layer_label
from nnframe.errors import DataError, NetworkStateError, NNFrameError, PluginError

if TYPE_CHECKING:
    from nnframe.core.network import Network

REPORT = "; this is a bug in the layer, report it to its author"


def checked_forward(layers: Sequence[Any], x: np.ndarray, dtype: np.dtype
                    ) -> tuple[np.ndarray, list[np.ndarray]]:
    """The training forward pass, checked; returns the output and every layer's input."""
    inputs = []
    for index, layer in enumerate(layers):
        inputs.append(x)
        expected = (len(x), *tuple(layer.output_shape(x.shape[1:])))
        y = _call(index, layer, "forward", lambda layer=layer, x=x: layer.forward(x, True))
        _check_array(index, layer, "forward", y, expected, dtype,
                     f"output_shape() says {expected[1:]} per sample")
        x = y
    return x, inputs


def checked_backward(layers: Sequence[Any], grad: np.ndarray, inputs: list[np.ndarray],
                     first: int) -> np.ndarray:
    """The training backward pass, checked, from the last layer down to the layer after
    ``first`` (the first with parameters); returns dE/dY of layer ``first``."""
    for index in range(len(layers) - 1, first, -1):
        layer = layers[index]
        result = _call(index, layer, "backward", lambda layer=layer, g=grad: layer.backward(g))
        x = inputs[index]
        _check_array(index, layer, "backward", result, x.shape, x.dtype,
                     "dE/dX must have the shape of the layer's input")
        grad = result
    return grad


def backward_parameters_agrees(index: int, layer: Any, grad: np.ndarray) -> bool:
    """Run the layer's backward, then its ``backward_parameters`` on the same dE/dY, and
    say whether they fill the same grads (they do not when a subclass overrode only
    ``backward``); the layer is left with the grads of its backward."""
    _call(index, layer, "backward", lambda: layer.backward(grad))
    expected = {name: np.array(value, copy=True) for name, value in layer.grads.items()}
    _call(index, layer, "backward_parameters", lambda: layer.backward_parameters(grad))
    agrees = all(np.allclose(layer.grads[name], value, rtol=1e-5, atol=1e-7)
                 for name, value in expected.items())
    for name, value in expected.items():
        layer.grads[name][...] = value
    return agrees


def _call(index: int, layer: Any, method: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except NNFrameError as exc:
        raise type(exc)(f"{layer_label(index, layer)}: {exc}") from exc
    except MemoryError:  # the input's size, not a bug of the layer
        raise DataError(f"{layer_label(index, layer)}: {method} ran out of memory for this "
                        "batch; use a smaller batch_size or smaller inputs") from None
    except Exception as exc:
        raise PluginError(f"{layer_label(index, layer)}: {method} raised "
                          f"{type(exc).__name__}: {exc}{REPORT}") from exc


def _check_array(index: int, layer: Any, method: str, value: Any, shape: tuple[int, ...],
                 dtype: np.dtype, rule: str) -> None:
    where = layer_label(index, layer)
    if not isinstance(value, np.ndarray):
        raise PluginError(f"{where}: {method} returned {type(value).__name__}, not an "
                          f"array{REPORT}")
    if value.shape != tuple(shape):
        raise PluginError(f"{where}: {method} returned shape {value.shape}, expected "
                          f"{tuple(shape)} ({rule}){REPORT}")
    if value.dtype != dtype:
        raise PluginError(f"{where}: {method} returned {value.dtype} in a {dtype} "
                          f"network{REPORT}")


def check_bound(network: Network, group: Any) -> None:
    """After the first batch: `NetworkStateError` naming the layer that put a new array
    into its ``params`` or ``grads`` instead of writing into the views it was given."""
    problems = unbound(network.layers, group)
    if problems:
        raise NetworkStateError(
            f"{problems[0]} was replaced by a new array during training; a layer must "
            "write into the arrays of its params and grads dicts in place (grads[name][...] "
            f"= ..., or out=), which the network shares with the optimizer"
            + (f" (also: {', '.join(problems[1:4])})" if len(problems) > 1 else ""))
