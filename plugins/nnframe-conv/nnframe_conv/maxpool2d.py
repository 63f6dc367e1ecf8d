"""Max-pooling over channels-last images; the gradient goes to one arg-max per window."""

from __future__ import annotations

from typing import ClassVar

import attrs
import numpy as np

from nnframe_conv.pooling import Pool2D


@attrs.define(eq=False)
class MaxPool2D(Pool2D):
    """Max-pooling: the largest value of each (pool_h, pool_w) window, channel by channel.

    ``pool_size`` is an int or a (height, width) pair, ``stride`` defaults to the pool
    size; odd sizes are floored. Backward routes each window's gradient to exactly one
    input cell, its arg-max (on ties, the first in row-major order, as PyTorch does).
    """

    layer_name: ClassVar[str] = "maxpool2d"

    _argmax: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        rows, cols = self._prepare(x)
        views = self.positions(x, rows, cols)
        y = views[0].copy()
        if not training:
            for view in views[1:]:
                np.maximum(y, view, out=y)
            return y
        # Index of the winning position per window: a strict > keeps the first of ties.
        argmax = np.zeros(y.shape, np.min_scalar_type(len(views) - 1))
        better = np.empty(y.shape, bool)
        for k, view in enumerate(views[1:], start=1):
            np.greater(view, y, out=better)
            np.copyto(y, view, where=better)
            np.copyto(argmax, k, where=better)
        self._argmax = argmax
        self._geometry = (rows, cols)
        self._input_shape = x.shape
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._argmax is None or self._geometry is None or self._input_shape is None:
            raise RuntimeError("MaxPool2D.backward called before forward(x, training=True)")
        rows, cols = self._geometry
        argmax = self._argmax
        # Tiled input: every cell is written exactly once below, so no zero fill is needed.
        tiled = self.tiles(rows, cols)
        grad_input = (np.empty if tiled else np.zeros)(self._input_shape, grad_output.dtype)
        overlapping = self.overlapping(rows, cols)
        hit = np.empty(argmax.shape, bool)
        for k, target in enumerate(self.positions(grad_input, rows, cols)):
            np.equal(argmax, k, out=hit)
            if overlapping:
                target += grad_output * hit
            else:
                np.multiply(grad_output, hit, out=target)
        return grad_input
