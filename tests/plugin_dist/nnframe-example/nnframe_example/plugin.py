"""Registers an example of each thing a third-party plugin may do, exactly as any would:
an ``affine`` layer, a layer with state (``running_center``), a layer built by a factory
function (``scaled_tanh``), a metric and a data set registered lazily, and an ONNX
converter for ``affine`` (the other two layers have none)."""

import attrs
import numpy as np

import nnframe


@attrs.define(eq=False)
class Affine(nnframe.Layer):
    """Per-feature scale and shift: y = x * scale + shift."""

    _input: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def build(self, input_shape, rng, dtype):
        features = input_shape[-1]
        self.params = {"scale": np.ones(features, dtype), "shift": np.zeros(features, dtype)}
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}

    def forward(self, x, training=False):
        if training:
            self._input = x
        return x * self.params["scale"] + self.params["shift"]

    def backward(self, grad_output):
        axes = tuple(range(grad_output.ndim - 1))
        self.grads["scale"][...] = np.sum(grad_output * self._input, axis=axes)
        self.grads["shift"][...] = np.sum(grad_output, axis=axes)
        return grad_output * self.params["scale"]


@attrs.define(eq=False)
class RunningCenter(nnframe.Layer):
    """Centre each feature: y = x - mean + shift, with the batch mean in training and the
    running mean (state, saved but never trained) at inference."""

    momentum: float = 0.1
    _batch: tuple | None = attrs.field(init=False, default=None, repr=False)

    def build(self, input_shape, rng, dtype):
        features = input_shape[-1]
        self.params = {"shift": np.zeros(features, dtype)}
        self.grads = {"shift": np.zeros(features, dtype)}
        self.state = {"running_mean": np.zeros(features, dtype)}

    def forward(self, x, training=False):
        axes = tuple(range(x.ndim - 1))
        if not training:
            return x - self.state["running_mean"] + self.params["shift"]
        self._batch = (axes, x.size // x.shape[-1])
        if len(x) == 0:  # an empty batch has no mean
            return x + self.params["shift"]
        mean = x.mean(axis=axes)
        running = self.state["running_mean"]
        running *= 1.0 - self.momentum
        running += self.momentum * mean
        return x - mean + self.params["shift"]

    def backward(self, grad_output):
        axes, count = self._batch
        total = np.sum(grad_output, axis=axes)
        self.grads["shift"][...] = total
        return grad_output - total / max(count, 1)


@attrs.define(eq=False)
class ScaledTanh(nnframe.Layer):
    """y = factor * tanh(x), built by a factory function rather than by its class."""

    factor: float = 2.0
    _output: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def forward(self, x, training=False):
        y = self.factor * np.tanh(x)
        if training:
            self._output = y
        return y

    def backward(self, grad_output):
        return grad_output * (self.factor - self._output * self._output / self.factor)


def scaled_tanh(factor: float = 2.0) -> ScaledTanh:
    """factor * tanh(x): registered as a function, the way a plugin may wrap its classes."""
    return ScaledTanh(float(factor))


@nnframe.hookimpl
def register_metrics(register):
    register("mean_prediction", "nnframe_example.extras:MeanPrediction")


@nnframe.hookimpl
def register_datasets(register):
    register("blobs", "nnframe_example.extras:blobs")


@nnframe.hookimpl
def register_layers(register):
    register("affine", Affine)
    register("running_center", RunningCenter)
    register("scaled_tanh", scaled_tanh)


@nnframe.hookimpl
def register_converters(register):
    register("affine", "nnframe_example.converters:AffineConverter")
