"""Element-wise activation layers: ``y = f(x)``, ``dE/dx = dE/dy * f'(x)``; and softmax
and log_softmax over an axis.

Each caches only what its derivative needs (usually its output) and only in training.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from nnframe.checks.arguments import non_negative, positive_float, to_float, to_int
from nnframe.core.contracts import Layer, Shape
from nnframe.core.contracts.config import config_of
from nnframe.errors import ConfigError, ShapeError
from nnframe.speed import parallel


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
        return parallel.elementwise(np.tanh, x)  # over the cores for large batches

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        y = self._cached()
        grad = np.empty_like(y)
        parallel.split_batch(_tanh_backward, y, grad_output, grad)  # (1 - y**2) * dE/dy
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
        return parallel.elementwise(_relu, x)  # over the cores for large batches

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


def _relu(x: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
    """max(x, 0), into ``y`` when given."""
    return np.maximum(x, 0.0, out=y)


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


def _sample_axis(instance: Any, attribute: Any, value: Any) -> None:
    """An integer other than 0 (axis 0 is the batch)."""
    if not isinstance(value, int) or isinstance(value, bool) or value == 0:
        raise ConfigError(f"{type(instance).__name__}: axis must be an integer other than 0 "
                          f"(axis 0 is the batch; -1 is the last axis), got {value!r}")


@attrs.define(eq=False)
class _OverAxis(_CachesOutput):
    """Shared plumbing of softmax and log_softmax: the axis they run over."""

    axis: int = attrs.field(default=-1, converter=to_int, validator=_sample_axis)
    """The axis of the batch array, as PyTorch's ``dim``: -1 (the default) is the last;
    axis 0, the batch, is refused (each sample stands alone)."""

    def output_shape(self, input_shape: Shape) -> Shape:
        self._axis(len(input_shape) + 1)
        return tuple(input_shape)

    def _axis(self, ndim: int) -> int:
        """The axis as a non-negative index into a batch of ``ndim`` axes."""
        axis = self.axis
        index = axis + ndim if axis < 0 else axis
        if not 1 <= index < ndim:
            raise ShapeError(f"axis {axis} is not a sample axis of a batch with {ndim} axes "
                             f"(axis 0 is the batch); give one of 1..{ndim - 1} or "
                             f"-1..-{ndim - 1}")
        return index

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments; ``axis`` only off its default, as configs read
        before it existed."""
        return config_of(self, omit_defaults=("axis",))


@attrs.define(eq=False)
class Softmax(_OverAxis):
    """Softmax over the last axis (or ``axis``), shifted by the max for stability
    (torch.nn.Softmax(dim=axis)).

    For classification prefer a linear last layer with the ``cross_entropy`` loss, which
    fuses softmax and log-loss; this layer is for when probabilities are the output.
    """

    def function(self, x: np.ndarray) -> np.ndarray:
        axis = -1 if self.axis == -1 else self._axis(x.ndim)
        y = x - x.max(axis=axis, keepdims=True)
        np.exp(y, out=y)
        y /= y.sum(axis=axis, keepdims=True)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        y = self._cached()
        axis = -1 if self.axis == -1 else self._axis(y.ndim)
        # dx = y * (g - sum(g * y)) over the axis: the Jacobian-vector product.
        dot = np.sum(grad_output * y, axis=axis, keepdims=True)
        grad = grad_output - dot
        grad *= y
        return grad


@attrs.define(eq=False)
class LogSoftmax(_OverAxis):
    """The log of softmax over the last axis (or ``axis``), computed as x - max - log(sum
    exp(x - max)), finite for any logits (torch.nn.LogSoftmax(dim=axis))."""

    def function(self, x: np.ndarray) -> np.ndarray:
        axis = self._axis(x.ndim)
        y = x - x.max(axis=axis, keepdims=True)
        y -= np.log(np.exp(y).sum(axis=axis, keepdims=True))
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        y = self._cached()
        # dx = g - softmax * sum(g) over the axis
        total = np.sum(grad_output, axis=self._axis(y.ndim), keepdims=True)
        grad = np.exp(y)
        grad *= -total
        grad += grad_output
        return grad


@attrs.define(eq=False)
class _CachesInput(Layer):
    """Shared plumbing of activations whose derivative reads the input."""

    _input: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def parameter_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        """No parameters."""
        return {}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if training:
            self._input = x
        return self.function(x)

    def function(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def derivative(self, x: np.ndarray) -> np.ndarray:
        """dy/dx at each element (a new array)."""
        raise NotImplementedError

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._input is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before "
                               "forward(x, training=True)")
        grad = self.derivative(self._input)
        grad *= grad_output
        return grad


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function from e = exp(-|x|): 1 / (1 + e) for x >= 0, e / (1 + e)
    below; never overflows, and keeps its relative precision far into the negative tail
    (where 0.5 * (1 + tanh(x / 2)) cancels)."""
    e = np.exp(-np.abs(x))
    y = np.where(x >= 0.0, 1.0, e)
    e += 1.0
    y /= e
    return y


@attrs.define(eq=False)
class SiLU(_CachesInput):
    """SiLU, also called swish (with beta 1): y = x * sigmoid(x) (torch.nn.SiLU).

    Registered as ``silu`` only: ``swish`` is the name of the example plugin layer (a
    learnable beta) in the plugin-writing guide."""

    def function(self, x: np.ndarray) -> np.ndarray:
        return x * _sigmoid(x)

    def derivative(self, x: np.ndarray) -> np.ndarray:
        # s + x s (1 - s) = s (1 + x (1 - s))
        s = _sigmoid(x)
        grad = np.subtract(1.0, s)
        grad *= x
        grad += 1.0
        grad *= s
        return grad


@attrs.define(eq=False)
class ELU(_CachesInput):
    """Exponential linear unit: y = x where x > 0, else alpha * (exp(x) - 1)
    (torch.nn.ELU)."""

    alpha: float = attrs.field(default=1.0, converter=to_float, validator=non_negative)

    def function(self, x: np.ndarray) -> np.ndarray:
        negative = np.expm1(np.minimum(x, 0.0))
        negative *= self.alpha
        return np.where(x > 0.0, x, negative)

    def derivative(self, x: np.ndarray) -> np.ndarray:
        grad = np.exp(np.minimum(x, 0.0))
        grad *= self.alpha
        grad[x > 0.0] = 1.0
        return grad


@attrs.define(eq=False)
class Softplus(_CachesInput):
    """Softplus: y = log(1 + exp(beta * x)) / beta, and y = x where beta * x > threshold
    (torch.nn.Softplus, the same defaults: beta 1, threshold 20)."""

    beta: float = attrs.field(default=1.0, converter=to_float, validator=positive_float)
    threshold: float = attrs.field(default=20.0, converter=to_float, validator=non_negative)

    def function(self, x: np.ndarray) -> np.ndarray:
        scaled = x * self.beta
        # log1p(exp(z)) as max(z, 0) + log1p(exp(-|z|)): finite for any z
        y = np.log1p(np.exp(-np.abs(scaled)))
        y += np.maximum(scaled, 0.0)
        y *= 1.0 / self.beta
        return np.where(scaled > self.threshold, x, y)

    def derivative(self, x: np.ndarray) -> np.ndarray:
        scaled = x * self.beta
        grad = _sigmoid(scaled)
        grad[scaled > self.threshold] = 1.0
        return grad


@attrs.define(eq=False)
class HardSigmoid(_CachesInput):
    """Hard sigmoid: y = clip(x / 6 + 1/2, 0, 1), slope 1/6 on (-3, 3) (torch.nn.Hardsigmoid;
    not Keras' slope 0.2)."""

    def function(self, x: np.ndarray) -> np.ndarray:
        y = x * (1.0 / 6.0)
        y += 0.5
        return np.clip(y, 0.0, 1.0, out=y)

    def derivative(self, x: np.ndarray) -> np.ndarray:
        inside = (x > -3.0) & (x < 3.0)
        return inside.astype(x.dtype) * (1.0 / 6.0)
