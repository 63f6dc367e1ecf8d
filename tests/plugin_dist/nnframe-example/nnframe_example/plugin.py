"""Registers the ``affine`` layer, exactly as any third-party plugin would."""

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


@nnframe.hookimpl
def register_layers(register):
    register("affine", Affine)
