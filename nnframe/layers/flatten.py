"""Flatten each sample to one axis: (N, d1, d2, ...) -> (N, d1 * d2 * ...)."""

from __future__ import annotations

import math

import attrs
import numpy as np

from nnframe.core.contracts import Layer, Shape


@attrs.define(eq=False)
class Flatten(Layer):
    """Flatten each sample to one axis, e.g. images (N, 28, 28, 1) to (N, 784)."""

    _input_shape: tuple[int, ...] | None = attrs.field(init=False, default=None, repr=False)

    def output_shape(self, input_shape: Shape) -> Shape:
        return (math.prod(input_shape),)

    def parameter_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        """No parameters."""
        return {}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if training:
            self._input_shape = x.shape
        return x.reshape(len(x), math.prod(x.shape[1:]))  # -1 fails on an empty batch

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output.reshape(self._input_shape)
