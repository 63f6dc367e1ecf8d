"""One buffer for every parameter and one for every gradient, so an optimizer steps once.

`FlatBinding.bind` copies each layer's parameters and gradients into two contiguous arrays
and puts views of them back into the layer's ``params`` and ``grads`` dicts. Layers read
``self.params[name]`` and write into ``self.grads[name]`` on every call (the Layer
contract), so they work on the views unchanged. The optimizer then receives a
`FlatParameters`: the usual list of per-parameter views (any optimizer can iterate it),
carrying the two whole buffers as ``flat`` so that nnframe's optimizers update every
parameter with a handful of ufunc calls instead of a Python loop over parameters.

A layer that puts a new array into its dicts (instead of writing into the one it has)
breaks the link; `FlatBinding.intact` notices, and the network steps parameter by parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs
import numpy as np

from nnframe.contracts import LayerProtocol, Parameter

#: Each parameter starts on a 64-byte boundary of the buffer, as a fresh array would.
ALIGNMENT_BYTES = 64
#: The key of the whole-buffer parameter (never a layer's "<index>.<name>").
FLAT_KEY = "*"


@attrs.define(eq=False)
class FlatParameter(Parameter):
    """Every parameter of a network at once: ``value`` and ``grad`` are the whole buffers,
    and ``members`` the per-parameter views with their ``(start, stop)`` in the buffers."""

    members: tuple[Parameter, ...] = attrs.field(default=(), repr=False)
    spans: tuple[tuple[int, int], ...] = attrs.field(default=(), repr=False)


class FlatParameters(list):
    """The list of `Parameter` views that `Optimizer.step` receives, plus ``flat``."""

    def __init__(self, flat: FlatParameter) -> None:
        super().__init__(flat.members)
        self.flat = flat


class FlatBinding:
    """The link between a network's layers and its two flat buffers."""

    def __init__(self, parameters: FlatParameters,
                 views: list[tuple[LayerProtocol, list[tuple[str, np.ndarray, np.ndarray]]]]
                 ) -> None:
        self.parameters = parameters
        #: per layer: the layer and the (name, value view, grad view) it was given
        self._views = views

    @classmethod
    def bind(cls, layers: Sequence[LayerProtocol], dtype: np.dtype) -> FlatBinding | None:
        """Move every parameter and gradient into two buffers of ``dtype``; None (nothing
        changed) when some parameter is not an array of that dtype with a gradient of its
        shape, as with a layer that keeps its parameters in another dtype."""
        dtype = np.dtype(dtype)
        entries = list(_entries(layers))
        for *_, value, grad in entries:
            if not (_is_array_of(value, dtype) and _is_array_of(grad, dtype)
                    and grad.shape == value.shape):
                return None
        step = max(1, ALIGNMENT_BYTES // dtype.itemsize)
        spans, end = [], 0
        for *_, value, _ in entries:
            start = -(-end // step) * step
            end = start + value.size
            spans.append((start, end))
        flat_values = _aligned_zeros(end, dtype)
        flat_grads = _aligned_zeros(end, dtype)
        members = []
        views: list[tuple[LayerProtocol, list]] = [(layer, []) for layer in layers]
        for (index, layer, name, value, grad), (start, stop) in zip(entries, spans, strict=True):
            value_view = flat_values[start:stop].reshape(value.shape)
            grad_view = flat_grads[start:stop].reshape(value.shape)
            value_view[...] = value
            grad_view[...] = grad
            layer.params[name] = value_view
            layer.grads[name] = grad_view
            members.append(Parameter(f"{index}.{name}", value_view, grad_view))
            views[index][1].append((name, value_view, grad_view))
        flat = FlatParameter(FLAT_KEY, flat_values, flat_grads, tuple(members), tuple(spans))
        return cls(FlatParameters(flat), views)

    def intact(self) -> bool:
        """True while every layer holds exactly the views it was given, and no others."""
        for layer, given in self._views:
            params, grads = layer.params, layer.grads
            if len(params) != len(given) or len(grads) != len(given):
                return False
            for name, value, grad in given:
                if params.get(name) is not value or grads.get(name) is not grad:
                    return False
        return True


def _entries(layers: Iterable[LayerProtocol]):
    for index, layer in enumerate(layers):
        for name, value in layer.params.items():
            yield index, layer, name, value, layer.grads.get(name)


def _is_array_of(array: object, dtype: np.dtype) -> bool:
    return isinstance(array, np.ndarray) and array.dtype == dtype


def _aligned_zeros(size: int, dtype: np.dtype) -> np.ndarray:
    """Zeros whose first element sits on an `ALIGNMENT_BYTES` boundary."""
    spare = ALIGNMENT_BYTES // dtype.itemsize
    raw = np.zeros(size + spare, dtype)
    skip = (-raw.ctypes.data % ALIGNMENT_BYTES) // dtype.itemsize
    return raw[skip:skip + size]
