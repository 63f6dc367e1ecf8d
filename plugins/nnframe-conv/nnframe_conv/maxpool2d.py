"""Max-pooling over channels-last images; the gradient goes to one arg-max per window."""

from __future__ import annotations

from typing import ClassVar

import attrs
import numpy as np

import nnframe
from nnframe.speed.parallel import split_batch
from nnframe_conv.pooling import Pool2D
from nnframe_conv.windows import Axis, Pair, positive_pair, to_pair


@attrs.define(eq=False)
class MaxPool2D(Pool2D):
    """Max-pooling: the largest value of each (pool_h, pool_w) window, channel by channel.

    ``pool_size`` is an int or a (height, width) pair, ``stride`` defaults to the pool
    size; odd sizes are floored. ``padding`` pads with -inf, as PyTorch's does (a padded
    cell never wins), and ``dilation`` spaces a window's taps as PyTorch's. Backward
    routes each window's gradient to exactly one input cell, its arg-max (on ties, the
    first in row-major order, as PyTorch does).
    """

    layer_name: ClassVar[str] = "maxpool2d"
    #: For ``nnframe check``: overlapping windows on an odd-sized image (the general path).
    check_hints: ClassVar[dict] = {"config": {"pool_size": 3, "stride": 2},
                                   "input_shape": (7, 6, 2)}

    dilation: Pair = attrs.field(default=1, converter=to_pair, validator=positive_pair)
    _input: np.ndarray | None = attrs.field(init=False, default=None, repr=False)
    _output: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    @property
    def dilations(self) -> Pair:
        return self.dilation

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        rows, cols = self._prepare(x)
        x = self.padded(x, rows, cols, -np.inf)
        y = np.empty((x.shape[0], rows.out, cols.out, x.shape[3]), x.dtype)
        # over the cores for large batches: each thread takes whole images
        split_batch(lambda xs, ys: self._max(xs, ys, rows, cols), x, y)
        if training:
            # The arg-max is recovered in backward from x and y: cheaper than tracking it
            # here with masked copies, and nothing is copied.
            self._input, self._output = x, y
            self._geometry = (rows, cols)
        return y

    def _max(self, x: np.ndarray, y: np.ndarray, rows: Axis, cols: Axis) -> None:
        if not self.overlapping(rows, cols) and rows.stride == rows.kernel \
                and cols.stride == cols.kernel and rows.dilation == cols.dilation == 1:
            self._max_separable(x, y, rows, cols)
            return
        views = self.positions(x, rows, cols)
        if len(views) == 1:
            np.copyto(y, views[0])
            return
        np.maximum(views[0], views[1], out=y)
        for view in views[2:]:
            np.maximum(y, view, out=y)

    @staticmethod
    def _max_separable(x: np.ndarray, y: np.ndarray, rows: Axis, cols: Axis) -> None:
        """Windows side by side (stride = pool size): the max over each window's rows,
        then over its columns. The first pass runs on whole image rows; measured 1.3-1.5x
        faster than taking the ph * pw positions one after the other, for one image and
        for a batch of 128."""
        n, channels = x.shape[0], x.shape[3]
        height, width = rows.out * rows.kernel, cols.out * cols.kernel
        # a view: the cells of a dropped partial window are cut off, the axes only split
        blocks = x[:, :height, :width].reshape(n, rows.out, rows.kernel, cols.out,
                                               cols.kernel, channels)
        if rows.kernel == 1:
            row_max = blocks[:, :, 0]
        else:
            row_max = np.maximum(blocks[:, :, 0], blocks[:, :, 1])
            for i in range(2, rows.kernel):
                np.maximum(row_max, blocks[:, :, i], out=row_max)
        # row_max: (N, H', W', pool_w, C)
        if cols.kernel == 1:
            np.copyto(y, row_max[:, :, :, 0])
            return
        np.maximum(row_max[:, :, :, 0], row_max[:, :, :, 1], out=y)
        for j in range(2, cols.kernel):
            np.maximum(y, row_max[:, :, :, j], out=y)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._input is None or self._output is None or self._geometry is None:
            raise RuntimeError("MaxPool2D.backward called before forward(x, training=True)")
        x, y = self._input, self._output
        rows, cols = self._geometry
        # the named kernel (`nnframe_conv.kernels`): NumPy's, or a plugin's faster one;
        # it writes every cell of grad_input
        route = nnframe.kernel("maxpool2d_backward")
        geometry = {"pool": self.pool_size, "stride": self.strides,
                    "dilation": self.dilation}
        grad_input = np.empty(x.shape, grad_output.dtype)
        split_batch(lambda *parts: route(*parts, **geometry), x, y, grad_output, grad_input)
        return self.unpadded(grad_input, rows, cols)
