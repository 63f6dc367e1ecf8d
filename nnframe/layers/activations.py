"""Element-wise activation layers: ``y = f(x)``, ``dE/dx = dE/dy * f'(x)``; and softmax.

Each caches only what its derivative needs (usually its output) and only in training.
"""

from __future__ import annotations

import attrs
import numpy as np

from nnframe import parallel
from nnframe.arguments import non_negative, to_float
from nnframe.contracts import Layer, Shape


@attrs.define(eq=False)
class _CachesOutput(Layer):
    """Shared plumbing: keep ``y`` from a training forward for backward."""

    _output: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        y = self.function(x)
        if training:
            self._output = y
        return y

    def function(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def parameter_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        """No parameters."""
        return {}

    def _cached(self) -> np.ndarray:
        if self._output is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before "
                               "forward(x, training=True)")
        return self._output


@attrs.define(eq=False)
class Tanh(_CachesOutput):
    """Hyperbolic tangent: y = tanh(x), dy/dx = 1 - y**2."""

    def function(self, x: np.ndarray) -> np.ndarray:
        if x.size < parallel.SPLIT_MIN:
            return np.tanh(x)
        y = np.empty(x.shape, np.result_type(x, 0.0))
        parallel.split_batch(np.tanh, x, y)  # over the cores for large batches
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        y = self._cached()
        grad = np.empty_like(y)
        if y.size < parallel.SPLIT_MIN:
            _tanh_backward(y, grad_output, grad)
        else:
            parallel.split_batch(_tanh_backward, y, grad_output, grad)
        return grad


@attrs.define(eq=False)
class Sigmoid(_CachesOutput):
    """Logistic sigmoid: y = 1 / (1 + exp(-x)), dy/dx = y * (1 - y)."""

    def function(self, x: np.ndarray) -> np.ndarray:
        # 0.5 * (1 + tanh(x / 2)) equals the logistic function and never overflows.
        y = np.multiply(x, 0.5)
        np.tanh(y, out=y)
        y += 1.0
        y *= 0.5
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        y = self._cached()
        grad = np.subtract(1.0, y)
        grad *= y
        grad *= grad_output
        return grad


@attrs.define(eq=False)
class ReLU(_CachesOutput):
    """Rectified linear unit: y = max(x, 0), dy/dx = 1 where x > 0 else 0."""

    def function(self, x: np.ndarray) -> np.ndarray:
        if x.size < parallel.SPLIT_MIN:
            return np.maximum(x, 0.0)
        y = np.empty(x.shape, np.result_type(x, 0.0))
        parallel.split_batch(_relu, x, y)  # over the cores for large batches
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if grad_output.size < parallel.SPLIT_MIN:
            return grad_output * (self._cached() > 0.0)
        grad = np.empty(grad_output.shape, grad_output.dtype)
        parallel.split_batch(_relu_backward, self._cached(), grad_output, grad)
        return grad


def _tanh_backward(y: np.ndarray, grad_output: np.ndarray, grad: np.ndarray) -> None:
    """grad = (1 - y**2) * grad_output, in place."""
    np.multiply(y, y, out=grad)
    np.subtract(1.0, grad, out=grad)
    grad *= grad_output


def _relu(x: np.ndarray, y: np.ndarray) -> None:
    np.maximum(x, 0.0, out=y)


def _relu_backward(y: np.ndarray, grad_output: np.ndarray, grad: np.ndarray) -> None:
    np.multiply(grad_output, y > 0.0, out=grad)


@attrs.define(eq=False)
class LeakyReLU(Layer):
    """Leaky ReLU: y = x where x > 0 else negative_slope * x."""

    negative_slope: float = attrs.field(default=0.01, converter=to_float, validator=non_negative)
    _positive: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def parameter_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        """No parameters."""
        return {}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        positive = x > 0.0
        if training:
            self._positive = positive
        return np.where(positive, x, x * self.negative_slope)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._positive is None:
            raise RuntimeError("LeakyReLU.backward called before forward(x, training=True)")
        return np.where(self._positive, grad_output, grad_output * self.negative_slope)


@attrs.define(eq=False)
class Softmax(_CachesOutput):
    """Softmax over the last axis, shifted by the max for stability.

    For classification prefer a linear last layer with the ``cross_entropy`` loss, which
    fuses softmax and log-loss; this layer is for when probabilities are the output.
    """

    def function(self, x: np.ndarray) -> np.ndarray:
        y = x - x.max(axis=-1, keepdims=True)
        np.exp(y, out=y)
        y /= y.sum(axis=-1, keepdims=True)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        y = self._cached()
        # dx = y * (g - sum(g * y)) over the last axis: the Jacobian-vector product.
        dot = np.sum(grad_output * y, axis=-1, keepdims=True)
        grad = grad_output - dot
        grad *= y
        return grad
