"""Global pooling: the mean or the max of each channel over every position of a sample,
channels-last images (N, H, W, C) or sequences (N, time, C) -> (N, C).

PyTorch writes them ``nn.AdaptiveAvgPool2d(1)`` / ``nn.AdaptiveMaxPool2d(1)`` (then a
flatten), Keras ``GlobalAveragePooling2D`` / ``GlobalMaxPooling2D``. The positions are seen
as one axis, (N, positions, C), so both work the same on any number of spatial axes.
"""

from __future__ import annotations

import math
from typing import ClassVar

import attrs
import numpy as np

import nnframe


def _positions(layer_name: str, input_shape: tuple[int, ...]) -> tuple[int, int]:
    """(positions, channels) of one sample, or a `ShapeError` saying what is expected."""
    shape = tuple(int(s) for s in input_shape)
    if len(shape) < 2 or 0 in shape:
        raise nnframe.ShapeError(
            f"{layer_name} pools over the positions of channels-last samples, (H, W, C) "
            f"images or (time, C) sequences, so at least two axes; got samples of shape "
            f"{shape}")
    return math.prod(shape[:-1]), shape[-1]


@attrs.define(eq=False)
class GlobalPool(nnframe.Layer):
    """Base of the global pooling layers: shapes, and the (N, positions, C) view."""

    layer_name: ClassVar[str] = "global_pool"
    check_hints: ClassVar[dict] = {"input_shape": (3, 4, 2)}

    _input_shape: tuple[int, ...] | None = attrs.field(init=False, default=None, repr=False)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (_positions(self.layer_name, input_shape)[1],)

    def parameter_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        """No parameters."""
        _positions(self.layer_name, input_shape)
        return {}

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator,
              dtype: np.dtype) -> None:
        _positions(self.layer_name, input_shape)

    def _flat(self, x: np.ndarray) -> np.ndarray:
        if x.ndim < 3:
            raise nnframe.ShapeError(
                f"{self.layer_name} expects a batch of channels-last samples, (N, H, W, C) "
                f"or (N, time, C); got an array of shape {x.shape}")
        positions, channels = _positions(self.layer_name, x.shape[1:])
        return x.reshape(x.shape[0], positions, channels)


@attrs.define(eq=False)
class GlobalAvgPool(GlobalPool):
    """The mean of each channel over all positions: (N, ..., C) -> (N, C) (PyTorch's
    AdaptiveAvgPool2d(1) and a flatten). Backward spreads the gradient evenly."""

    layer_name: ClassVar[str] = "global_avg_pool"

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        flat = self._flat(x)
        if training:
            self._input_shape = x.shape
        return flat.mean(axis=1)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._input_shape is None:
            raise RuntimeError("GlobalAvgPool.backward called before forward(x, training=True)")
        n, channels = self._input_shape[0], self._input_shape[-1]
        positions = math.prod(self._input_shape[1:-1])
        grad = np.empty((n, positions, channels), grad_output.dtype)
        np.multiply(grad_output[:, None, :], 1.0 / positions, out=grad)
        return grad.reshape(self._input_shape)


@attrs.define(eq=False)
class GlobalMaxPool(GlobalPool):
    """The max of each channel over all positions: (N, ..., C) -> (N, C) (PyTorch's
    AdaptiveMaxPool2d(1) and a flatten). Backward routes each channel's gradient to its
    arg-max (the first in row-major order on ties)."""

    layer_name: ClassVar[str] = "global_max_pool"

    _winners: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        flat = self._flat(x)
        if not training:
            return flat.max(axis=1)
        winners = flat.argmax(axis=1)[:, None, :]  # (N, 1, C)
        self._winners, self._input_shape = winners, x.shape
        return np.take_along_axis(flat, winners, axis=1)[:, 0]

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._winners is None or self._input_shape is None:
            raise RuntimeError("GlobalMaxPool.backward called before forward(x, training=True)")
        n, channels = self._input_shape[0], self._input_shape[-1]
        grad = np.zeros((n, math.prod(self._input_shape[1:-1]), channels), grad_output.dtype)
        np.put_along_axis(grad, self._winners, grad_output[:, None, :], axis=1)
        return grad.reshape(self._input_shape)
