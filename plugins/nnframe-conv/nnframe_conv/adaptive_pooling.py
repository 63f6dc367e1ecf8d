"""Adaptive pooling: PyTorch's ``nn.AdaptiveAvgPool2d`` / ``nn.AdaptiveMaxPool2d`` on
channels-last images, (N, H, W, C) -> (N, out_h, out_w, C) whatever H and W are.

Output row i pools input rows ``floor(i * H / out_h)`` to ``ceil((i + 1) * H / out_h)``
(exclusive), and the same for columns, as PyTorch does; windows differ in size and may
overlap by a cell when the sizes do not divide. A window is a row range times a column
range, so the average is separable: one (out_h, H) and one (out_w, W) averaging matrix,
applied as two matrix products in both directions. The max takes each output cell's window
(out_h * out_w of them, few) over the whole batch and all channels at once.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np

import nnframe
from nnframe_conv.windows import batch_shape, image_shape


def _to_output_size(value: Any) -> Any:
    """``3`` -> ``(3, 3)``; a pair keeps None (the input's size); else unchanged."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value), int(value))
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return tuple(None if v is None else int(v) if isinstance(v, (int, np.integer))
                     and not isinstance(v, bool) else v for v in value)
    return value


def _check_output_size(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not (isinstance(value, tuple) and len(value) == 2
            and all(v is None or (isinstance(v, int) and v > 0) for v in value)):
        raise nnframe.ConfigError(
            f"{instance.layer_name}: output_size must be a positive integer or a (height, "
            f"width) pair of positive integers or None (the input's size), got {value!r}")


def windows(size: int, out: int) -> list[tuple[int, int]]:
    """(start, stop) of each of ``out`` windows over ``size`` cells, as PyTorch's."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def averaging(size: int, out: int, dtype: np.dtype) -> np.ndarray:
    """(out, size): row i averages window i."""
    matrix = np.zeros((out, size), dtype)
    for i, (start, stop) in enumerate(windows(size, out)):
        matrix[i, start:stop] = 1.0 / (stop - start)
    return matrix


@attrs.define(eq=False)
class AdaptivePool2D(nnframe.Layer):
    """Base of the adaptive pooling layers: ``output_size`` and the output's geometry."""

    layer_name: ClassVar[str] = "adaptive_pool2d"
    check_hints: ClassVar[dict] = {"config": {"output_size": (3, 2)}, "input_shape": (7, 5, 2)}

    output_size: tuple[int | None, int | None] = attrs.field(
        default=1, converter=_to_output_size, validator=_check_output_size)
    _input_shape: tuple[int, ...] | None = attrs.field(init=False, default=None, repr=False)

    def sizes(self, height: int, width: int) -> tuple[int, int]:
        """(out_h, out_w) for an input of height x width."""
        out_h, out_w = self.output_size
        return (height if out_h is None else out_h, width if out_w is None else out_w)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        height, width, channels = image_shape(self.layer_name, input_shape)
        return (*self.sizes(height, width), channels)

    def parameter_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        """No parameters."""
        image_shape(self.layer_name, input_shape)
        return {}

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator,
              dtype: np.dtype) -> None:
        image_shape(self.layer_name, input_shape)


@attrs.define(eq=False)
class AdaptiveAvgPool2D(AdaptivePool2D):
    """The mean of each adaptive window, channel by channel (PyTorch's AdaptiveAvgPool2d);
    backward spreads each window's gradient evenly over it."""

    layer_name: ClassVar[str] = "adaptive_avg_pool2d"

    def _matrices(self, height: int, width: int, dtype: np.dtype
                  ) -> tuple[np.ndarray, np.ndarray]:
        out_h, out_w = self.sizes(height, width)
        return averaging(height, out_h, dtype), averaging(width, out_w, dtype)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        _, height, width, _ = batch_shape(self.layer_name, x)
        rows, cols = self._matrices(height, width, x.dtype)
        if training:
            self._input_shape = x.shape
        # (N, H, W, C) -> (N, out_h, W, C) -> (N, out_h, out_w, C)
        y = np.einsum("ih,nhwc->niwc", rows, x, optimize=True)
        return np.einsum("jw,niwc->nijc", cols, y, optimize=True)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._input_shape is None:
            raise RuntimeError("AdaptiveAvgPool2D.backward called before forward(x, "
                               "training=True)")
        _, height, width, _ = self._input_shape
        rows, cols = self._matrices(height, width, grad_output.dtype)
        grad = np.einsum("jw,nijc->niwc", cols, grad_output, optimize=True)
        return np.einsum("ih,niwc->nhwc", rows, grad, optimize=True)


@attrs.define(eq=False)
class AdaptiveMaxPool2D(AdaptivePool2D):
    """The max of each adaptive window, channel by channel (PyTorch's AdaptiveMaxPool2d);
    backward routes each window's gradient to its arg-max (the first in row-major order on
    ties)."""

    layer_name: ClassVar[str] = "adaptive_max_pool2d"

    _winners: dict | None = attrs.field(init=False, default=None, repr=False)

    def cells(self, height: int, width: int) -> list[tuple[int, int, slice, slice]]:
        """(i, j, rows, columns) of every output cell's window."""
        out_h, out_w = self.sizes(height, width)
        return [(i, j, slice(*r), slice(*c))
                for i, r in enumerate(windows(height, out_h))
                for j, c in enumerate(windows(width, out_w))]

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        n, height, width, channels = batch_shape(self.layer_name, x)
        out_h, out_w = self.sizes(height, width)
        y = np.empty((n, out_h, out_w, channels), x.dtype)
        winners = {}
        for i, j, rows, cols in self.cells(height, width):
            window = x[:, rows, cols]
            window = window.reshape(n, window.shape[1] * window.shape[2], channels)
            if training:
                best = window.argmax(axis=1)[:, None]  # (N, 1, C)
                winners[(i, j)] = best
                y[:, i, j] = np.take_along_axis(window, best, axis=1)[:, 0]
            else:
                y[:, i, j] = window.max(axis=1)
        if training:
            self._winners, self._input_shape = winners, x.shape
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._winners is None or self._input_shape is None:
            raise RuntimeError("AdaptiveMaxPool2D.backward called before forward(x, "
                               "training=True)")
        n, height, width, channels = self._input_shape
        grad = np.zeros(self._input_shape, grad_output.dtype)
        for i, j, rows, cols in self.cells(height, width):
            target = grad[:, rows, cols]
            routed = np.zeros((n, target.shape[1] * target.shape[2], channels),
                              grad_output.dtype)
            np.put_along_axis(routed, self._winners[(i, j)], grad_output[:, i, j][:, None],
                              axis=1)
            grad[:, rows, cols] += routed.reshape(target.shape)
        return grad
