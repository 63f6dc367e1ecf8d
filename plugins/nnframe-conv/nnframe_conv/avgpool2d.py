"""Average-pooling over channels-last images."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np

import nnframe
from nnframe.checks.arguments import positive_int, to_int
from nnframe_conv.pooling import Pool2D
from nnframe_conv.windows import Axis


def _check_bool(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise nnframe.ConfigError(
            f"{instance.layer_name}: {attribute.name} must be true or false, got {value!r}")


@attrs.define(eq=False)
class AvgPool2D(Pool2D):
    """Average-pooling: the mean of each (pool_h, pool_w) window, channel by channel.

    ``pool_size`` is an int or a (height, width) pair, ``stride`` defaults to the pool
    size; odd sizes are floored. ``padding`` pads with zeros; ``count_include_pad`` (as in
    PyTorch, default true) divides by the whole pool area, false by the input cells the
    window covers only; ``divisor_override`` (PyTorch's) divides every window's sum by that
    number instead. Backward spreads each window's gradient evenly over it.
    """

    layer_name: ClassVar[str] = "avgpool2d"
    #: For ``nnframe check``: overlapping windows on an odd-sized image (the general path).
    check_hints: ClassVar[dict] = {"config": {"pool_size": 3, "stride": 2},
                                   "input_shape": (7, 6, 2)}

    count_include_pad: bool = attrs.field(default=True, validator=_check_bool)
    divisor_override: int | None = attrs.field(
        default=None, converter=attrs.converters.optional(to_int),
        validator=attrs.validators.optional(positive_int))

    def _divisor(self, rows: Axis, cols: Axis, dtype: np.dtype) -> np.ndarray | float:
        """1 / cells per window: the pool area, or, without count_include_pad on padded
        input, (H', W', 1) counts of the input cells under each window; or 1 /
        divisor_override."""
        if self.divisor_override is not None:
            return 1.0 / self.divisor_override
        if self.count_include_pad or (rows.padded == rows.size and cols.padded == cols.size):
            return 1.0 / (rows.kernel * cols.kernel)
        inside = self.padded(np.ones((1, rows.size, cols.size, 1), dtype), rows, cols, 0.0)
        counts = sum(self.positions(inside, rows, cols))
        return 1.0 / counts[0]

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        rows, cols = self._prepare(x)
        views = self.positions(self.padded(x, rows, cols, 0.0), rows, cols)
        y = views[0].copy()
        for view in views[1:]:
            y += view
        y *= self._divisor(rows, cols, x.dtype)
        if training:
            self._geometry = (rows, cols)
            self._input_shape = x.shape
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._geometry is None or self._input_shape is None:
            raise RuntimeError("AvgPool2D.backward called before forward(x, training=True)")
        rows, cols = self._geometry
        share = grad_output * self._divisor(rows, cols, grad_output.dtype)
        if self.tiles(rows, cols):
            # Reshape fast path: one broadcast copy writes every input cell once.
            n, _, _, channels = self._input_shape
            grad_input = np.empty(self._input_shape, grad_output.dtype)
            blocks = grad_input.reshape(n, rows.out, rows.kernel, cols.out, cols.kernel, channels)
            blocks[...] = share[:, :, None, :, None, :]
            return grad_input
        n, _, _, channels = self._input_shape
        grad_input = np.zeros((n, rows.padded, cols.padded, channels), grad_output.dtype)
        overlapping = self.overlapping(rows, cols)
        for target in self.positions(grad_input, rows, cols):
            if overlapping:
                target += share
            else:
                target[...] = share
        return self.unpadded(grad_input, rows, cols)
