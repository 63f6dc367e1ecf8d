"""Components with one planted bug each, for the kit to find (and one healthy of each kind)."""

from __future__ import annotations

import attrs
import numpy as np

import nnframe
from nnframe.layers.activations import Tanh
from nnframe.losses.mse import MeanSquaredError
from nnframe.optimizers.sgd import SGD


@attrs.define(eq=False)
class Square(nnframe.Layer):
    """y = x**2, whose backward forgets the factor 2."""

    _input: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def forward(self, x, training=False):
        if training:
            self._input = x
        return x * x

    def backward(self, grad_output):
        return grad_output * self._input  # should be 2 * x


@attrs.define(eq=False)
class Scale(nnframe.Layer):
    """y = x * scale per feature; ``bug`` picks what goes wrong (``None``: nothing)."""

    bug: str | None = None
    _input: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def build(self, input_shape, rng, dtype):
        shape = (input_shape[-1],)
        scale = rng.uniform(0.5, 1.5, shape) if self.bug != "global_rng" else np.random.rand(*shape)
        self.params = {"scale": scale.astype(dtype)}
        self.grads = {"scale": np.zeros(shape, dtype)}

    def output_shape(self, input_shape):
        if self.bug == "output_shape":
            return (*input_shape[:-1], input_shape[-1] + 1)
        return tuple(input_shape)

    def forward(self, x, training=False):
        if training or self.bug == "caches_at_inference":
            self._input = x
        if self.bug == "flat_reshape":  # reshape(N, -1) cannot infer -1 for N = 0
            x = x.reshape(len(x), -1).reshape(x.shape)
        y = x * self.params["scale"]
        return y.astype(np.float64) if self.bug == "float64" else y

    def backward(self, grad_output):
        axes = tuple(range(grad_output.ndim - 1))
        grad = np.sum(grad_output * self._input, axis=axes)
        if self.bug == "batch_mean":  # averaged instead of summed over the batch
            grad = grad / len(grad_output)
        self.grads["scale"][...] = grad
        if self.bug == "updates_params":
            self.params["scale"] -= 0.1 * grad
        return grad_output * self.params["scale"]

    def get_config(self):
        return {} if self.bug == "config" else {"bug": self.bug}


@attrs.define(eq=False)
class DeclaredScale(Scale):
    """Scale that says its parameter shapes before building; the bug ``declared_shape``
    says one feature too many, ``builds_to_declare`` builds to find out."""

    def parameter_shapes(self, input_shape):
        if self.bug == "builds_to_declare":
            self.build(input_shape, np.random.default_rng(0), np.dtype("float64"))
            return {name: value.shape for name, value in self.params.items()}
        return {"scale": (input_shape[-1] + (self.bug == "declared_shape"),)}


@attrs.define(eq=False)
class SumSquaredError(MeanSquaredError):
    """Sums the squared errors over the batch (and differentiates that sum correctly)."""

    def forward(self, y_true, y_pred):
        return super().forward(y_true, y_pred) * len(y_pred)

    def backward(self):
        return super().backward() * len(self._prepared)  # y_pred - y_true


@attrs.define(eq=False)
class Ascent(SGD):
    """Climbs the gradient."""

    def step(self, parameters):
        for p in parameters:
            p.value += self.learning_rate * p.grad


@attrs.define(eq=False)
class Replacing(SGD):
    """Builds new arrays instead of updating the layer's."""

    def step(self, parameters):
        for p in parameters:
            p.value = p.value - self.learning_rate * p.grad


@attrs.define(eq=False)
class HiddenMomentum(SGD):
    """Momentum kept where state_dict() cannot see it."""

    _velocity: dict = attrs.field(init=False, factory=dict, repr=False)

    def step(self, parameters):
        for p in parameters:
            velocity = self._velocity.setdefault(p.key, np.zeros_like(p.value))
            velocity *= 0.9
            velocity += p.grad
            p.value -= self.learning_rate * velocity


class BadlyHinted(Tanh):
    """Asks for a hint that does not exist."""

    check_hints = {"input_shapes": (3,)}  # noqa: RUF012


@nnframe.hookimpl
def register_layers(register):
    register("square", Square)
    register("scale", Scale)
    register("badly_hinted", BadlyHinted)


@nnframe.hookimpl
def register_losses(register):
    register("sum_squared_error", SumSquaredError)


# -- wrong backward passes that a finite-difference check must catch ------------------------

from nnframe.layers.dense import Dense  # noqa: E402
from nnframe.layers.normalization import LayerNorm  # noqa: E402


@attrs.define(eq=False)
class SignFlippedDense(Dense):
    """A dense layer whose dE/dX has the wrong sign."""

    def backward(self, grad_output):
        return -super().backward(grad_output)


@attrs.define(eq=False)
class TransposedDense(Dense):
    """A square dense layer whose dE/dX multiplies by the weights, not their transpose."""

    def backward(self, grad_output):
        self.backward_parameters(grad_output)
        return grad_output @ self.params["weights"]


@attrs.define(eq=False)
class LayerNormMissingTerm(LayerNorm):
    """layer_norm whose dE/dX forgets the term that goes through the variance,
    x̂ * mean(d * x̂): right for the mean, wrong wherever the variance moves."""

    def backward(self, grad_output):
        cache = self._cached()
        grad, _ = self._parameter_grads(grad_output)
        d = grad * self.params["gamma"]
        grad_input = (d - d.mean(axis=1, keepdims=True)) * cache.inv_std
        return grad_input.reshape(cache.shape)


@attrs.define(eq=False)
class LayerNormEpsMismatch(LayerNorm):
    """layer_norm whose backward uses another eps than its forward: a subtle bug, wrong by
    about a thousandth of the gradient."""

    def backward(self, grad_output):
        cache = self._cached()
        grad_input = super().backward(grad_output)
        variance = 1.0 / cache.inv_std.reshape(-1, 1) ** 2 - self.eps
        factor = np.sqrt((variance + self.eps) / (variance + 1e-3))
        rows = grad_input.reshape(variance.shape[0], -1)
        return (rows * factor).reshape(cache.shape)
