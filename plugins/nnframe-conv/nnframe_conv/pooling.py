"""What max- and average-pooling share: arguments, output shapes and window positions.

A pool of (ph, pw) cells slides with ``stride`` (default: the pool size) over the (H, W)
axes of channels-last images, padded by ``padding`` (default none); a last partial window
is dropped (floor).
Each layer works on the ph * pw *position views*: position (i, j) of every window at once,
one strided (N, H', W', C) view of the input, so no Python loop ever runs over pixels.
"""

from __future__ import annotations

from typing import ClassVar

import attrs
import numpy as np

import nnframe
from nnframe_conv.windows import (
    Axis,
    Pair,
    axes,
    batch_shape,
    check_padding,
    image_shape,
    optional_positive_pair,
    positive_pair,
    to_optional_pair,
    to_padding,
    to_pair,
)


@attrs.define(eq=False)
class Pool2D(nnframe.Layer):
    """Base of the 2-D pooling layers: ``pool_size``, ``stride`` (None: the pool size) and
    ``padding``: ``"valid"`` (none), ``"same"`` (``ceil(size / stride)`` outputs) or
    PyTorch's cells per side, an int or a (height, width) pair of at most half the pool."""

    layer_name: ClassVar[str] = "pool2d"

    pool_size: Pair = attrs.field(default=2, converter=to_pair, validator=positive_pair)
    stride: Pair | None = attrs.field(default=None, converter=to_optional_pair,
                                      validator=optional_positive_pair)
    padding: str | Pair = attrs.field(default="valid", converter=to_padding,
                                      validator=check_padding)
    _geometry: tuple[Axis, Axis] | None = attrs.field(init=False, default=None, repr=False)
    _input_shape: tuple[int, ...] | None = attrs.field(init=False, default=None, repr=False)

    @property
    def strides(self) -> Pair:
        """The stride actually used: ``stride``, or the pool size when it is None."""
        return self.stride or self.pool_size

    @property
    def dilations(self) -> Pair:
        """Cells between a window's taps: 1 unless a subclass says otherwise."""
        return (1, 1)

    def _axes(self, height: int, width: int) -> tuple[Axis, Axis]:
        if isinstance(self.padding, tuple) and any(
                2 * p > k for p, k in zip(self.padding, self.pool_size, strict=True)):
            raise nnframe.ConfigError(
                f"{self.layer_name}: padding {self.padding} is more than half the pool "
                f"{self.pool_size}; a window could then hold padding only (PyTorch refuses "
                "it too): pad at most pool_size // 2")
        rows, cols = axes(height, width, self.pool_size, self.strides, self.padding,
                          self.dilations)
        if rows.out < 1 or cols.out < 1:
            ph, pw = self.pool_size
            raise nnframe.ShapeError(
                f"{self.layer_name}: the {ph}x{pw} pool is larger than the {height}x{width} "
                "input; use a smaller pool_size or fewer pooling layers before this one"
            )
        return rows, cols

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        height, width, channels = image_shape(self.layer_name, input_shape)
        rows, cols = self._axes(height, width)
        return (rows.out, cols.out, channels)

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator,
              dtype: np.dtype) -> None:
        self.output_shape(input_shape)

    def _prepare(self, x: np.ndarray) -> tuple[Axis, Axis]:
        """Check a batch and return its geometry."""
        _, height, width, _ = batch_shape(self.layer_name, x)
        return self._axes(height, width)

    @staticmethod
    def padded(x: np.ndarray, rows: Axis, cols: Axis, fill: float) -> np.ndarray:
        """``x`` with ``fill`` around it, or ``x`` itself where there is no padding."""
        if rows.padded == rows.size and cols.padded == cols.size:
            return x
        n, height, width, channels = x.shape
        out = np.full((n, rows.padded, cols.padded, channels), fill, x.dtype)
        out[:, rows.pad_before:rows.pad_before + height,
            cols.pad_before:cols.pad_before + width] = x
        return out

    @staticmethod
    def unpadded(grad: np.ndarray, rows: Axis, cols: Axis) -> np.ndarray:
        """The gradient of the padded input cut back to the input's cells."""
        if rows.padded == rows.size and cols.padded == cols.size:
            return grad
        return grad[:, rows.pad_before:rows.pad_before + rows.size,
                    cols.pad_before:cols.pad_before + cols.size]

    @staticmethod
    def tiles(rows: Axis, cols: Axis) -> bool:
        """Windows that tile the (unpadded) input exactly (stride = pool size, divisible
        input): the reshape fast path, where every input cell lies in exactly one window."""
        return all(a.stride == a.kernel and a.dilation == 1 and a.padded == a.size
                   and a.out * a.kernel == a.size for a in (rows, cols))

    @staticmethod
    def overlapping(rows: Axis, cols: Axis) -> bool:
        """Whether an input cell can lie in more than one window (stride < window span)."""
        return rows.stride < rows.span or cols.stride < cols.span

    @staticmethod
    def positions(x: np.ndarray, rows: Axis, cols: Axis) -> list[np.ndarray]:
        """Views (N, H', W', C) of window position (i, j), for i, j in row-major order.

        On tiled input they come from one reshape (N, H', ph, W', pw, C); otherwise from
        strided slices. Both are views: nothing is copied.
        """
        if Pool2D.tiles(rows, cols):
            n, _, _, channels = x.shape
            blocks = x.reshape(n, rows.out, rows.kernel, cols.out, cols.kernel, channels)
            return [blocks[:, :, i, :, j] for i in range(rows.kernel) for j in range(cols.kernel)]
        return [x[:, rows.window(i), cols.window(j)]
                for i in range(rows.kernel) for j in range(cols.kernel)]
