"""Inverted dropout: zero a fraction ``rate`` of activations in training, scale the rest."""

from __future__ import annotations

import attrs
import numpy as np

from nnframe.checks.arguments import to_float, unit_interval
from nnframe.core.contracts import Layer, Shape


@attrs.define(eq=False)
class Dropout(Layer):
    """Inverted dropout: in training, zero each value with probability rate and scale the
    others by 1 / (1 - rate); at inference, the identity.

    The mask is drawn from the network's Generator, so a seeded run is reproducible.
    """

    rate: float = attrs.field(default=0.5, converter=to_float, validator=unit_interval)
    _rng: np.random.Generator | None = attrs.field(init=False, default=None, repr=False)
    _mask: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def build(self, input_shape: Shape, rng: np.random.Generator, dtype: np.dtype) -> None:
        self._rng = rng

    def parameter_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        """No parameters."""
        return {}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training:  # leaves the mask of a pending backward alone
            return x
        if self.rate == 0.0:
            self._mask = None
            return x
        if self._rng is None:
            raise RuntimeError("Dropout needs build(input_shape, rng, dtype) before training")
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
        mask = self._rng.random(x.shape, dtype=dtype)
        # keep where u >= rate, scaled: one pass builds the scaled mask in place
        np.greater_equal(mask, self.rate, out=mask, casting="unsafe")
        mask *= 1.0 / (1.0 - self.rate)
        self._mask = mask
        return x * mask

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._mask is None:
            return grad_output
        return grad_output * self._mask
