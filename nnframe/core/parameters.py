"""Where a network keeps its parameters: one buffer for every value, one for every gradient.

`bind` moves each layer's ``params`` and ``grads`` into the two buffers of a
`ParameterGroup` and gives the layers views of them, which they read and write in place
(the layer contract), so an optimizer updates every parameter with a few whole-buffer
operations. `unbound` tells which layers no longer hold their views.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nnframe.core.contracts import LayerProtocol, ParameterGroup
from nnframe.core.registry import layer_label
from nnframe.errors import ShapeError


def bind(layers: Sequence[LayerProtocol], dtype: Any) -> ParameterGroup:
    """Check every parameter and gradient, move them into one group, give views back.

    Raises `ShapeError` naming the layer when a parameter is not an array of the network's
    dtype or its gradient is missing or of another shape.
    """
    dtype = np.dtype(dtype)
    entries = []
    for index, layer in enumerate(layers):
        params, grads = layer.params, layer.grads  # a composite's views: made once
        for name, value in params.items():
            grad = grads.get(name)
            _check_pair(index, layer, name, value, grad, dtype)
            entries.append((index, params, grads, name, value, grad))
    group = ParameterGroup.allocate(
        {f"{index}.{name}": value.shape for index, _, _, name, value, _ in entries}, dtype)
    for (_, params, grads, name, value, grad), parameter in zip(entries, group, strict=True):
        parameter.value[...] = value
        parameter.grad[...] = grad
        params[name] = parameter.value
        grads[name] = parameter.grad
    return group


def unbound(layers: Sequence[LayerProtocol], group: ParameterGroup) -> list[str]:
    """``"<layer label>: params['w']"`` for every entry of a layer's dicts that is not the
    view `bind` gave it (a new array put in, one added, one removed)."""
    expected: dict[int, dict[str, Any]] = {}
    for parameter in group:
        index, _, name = parameter.key.partition(".")
        expected.setdefault(int(index), {})[name] = parameter
    problems = []
    for index, layer in enumerate(layers):
        given = expected.get(index, {})
        for which in ("params", "grads"):
            held = getattr(layer, which)
            attribute = "value" if which == "params" else "grad"
            names = set(held) | set(given)
            for name in sorted(names):
                view = getattr(given[name], attribute) if name in given else None
                if held.get(name) is not view:
                    problems.append(f"{layer_label(index, layer)}: {which}[{name!r}]")
    return problems


def _check_pair(index: int, layer: Any, name: str, value: Any, grad: Any,
                dtype: np.dtype) -> None:
    where = f"{layer_label(index, layer)}: params[{name!r}]"
    if not isinstance(value, np.ndarray) or value.dtype != dtype:
        got = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
        raise ShapeError(f"{where} is {got}, but the network is {dtype}; build() must create "
                         "parameters as arrays of the dtype it is given")
    if not isinstance(grad, np.ndarray) or grad.shape != value.shape or grad.dtype != dtype:
        got = (f"{grad.dtype} {grad.shape}" if isinstance(grad, np.ndarray)
               else "missing" if grad is None else type(grad).__name__)
        raise ShapeError(f"{where} has shape {value.shape}, but its gradient grads[{name!r}] "
                         f"is {got}; build() must create a zeroed gradient of the same shape "
                         "and dtype for every parameter")
