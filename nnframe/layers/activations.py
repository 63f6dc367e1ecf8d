"""Element-wise activation layers: ``y = f(x)``, ``dE/dx = dE/dy * f'(x)``."""

from __future__ import annotations

import attrs
import numpy as np

from nnframe.contracts import Layer


@attrs.define(eq=False)
class Tanh(Layer):
    """Hyperbolic tangent: y = tanh(x), dy/dx = 1 - y**2."""

    _output: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        y = np.tanh(x)
        if training:
            self._output = y
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        y = self._output
        grad = np.multiply(y, y)
        np.subtract(1.0, grad, out=grad)
        grad *= grad_output
        return grad
