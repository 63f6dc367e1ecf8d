"""Average-pooling over channels-last images."""

from __future__ import annotations

from typing import ClassVar

import attrs
import numpy as np

from nnframe_conv.pooling import Pool2D


@attrs.define(eq=False)
class AvgPool2D(Pool2D):
    """Average-pooling: the mean of each (pool_h, pool_w) window, channel by channel.

    ``pool_size`` is an int or a (height, width) pair, ``stride`` defaults to the pool
    size; odd sizes are floored. Backward spreads each window's gradient evenly over it.
    """

    layer_name: ClassVar[str] = "avgpool2d"
    #: For ``nnframe check``: overlapping windows on an odd-sized image (the general path).
    check_hints: ClassVar[dict] = {"config": {"pool_size": 3, "stride": 2},
                                   "input_shape": (7, 6, 2)}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        rows, cols = self._prepare(x)
        views = self.positions(x, rows, cols)
        y = views[0].copy()
        for view in views[1:]:
            y += view
        y *= 1.0 / len(views)
        if training:
            self._geometry = (rows, cols)
            self._input_shape = x.shape
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._geometry is None or self._input_shape is None:
            raise RuntimeError("AvgPool2D.backward called before forward(x, training=True)")
        rows, cols = self._geometry
        share = grad_output * (1.0 / (rows.kernel * cols.kernel))
        if self.tiles(rows, cols):
            # Reshape fast path: one broadcast copy writes every input cell once.
            n, _, _, channels = self._input_shape
            grad_input = np.empty(self._input_shape, grad_output.dtype)
            blocks = grad_input.reshape(n, rows.out, rows.kernel, cols.out, cols.kernel, channels)
            blocks[...] = share[:, :, None, :, None, :]
            return grad_input
        grad_input = np.zeros(self._input_shape, grad_output.dtype)
        overlapping = self.overlapping(rows, cols)
        for target in self.positions(grad_input, rows, cols):
            if overlapping:
                target += share
            else:
                target[...] = share
        return grad_input
