"""The ONNX converters of batch_norm, layer_norm and embedding (nnframe.onnx.normalization).

The built-in layers are being written beside these converters; until they are in, the
converters are tested on test stand-ins (`StandInBatchNorm` and friends) that compute
exactly what those layers are specified to compute at inference, with the same members:
batch_norm ``(x - running_mean) / sqrt(running_var + eps) * gamma + beta`` per feature of
the last axis; layer_norm the same with each row's own mean and biased variance; embedding
``weights[indices]`` for indices in any numeric dtype. A test plugin registers them with
the real converters. Outputs are compared as in test_onnx.py.
"""

from __future__ import annotations

import importlib.metadata

import attrs
import numpy as np
import pytest

import nnframe
from tests.fake_plugins import entry_point, plugin_module
from tests.test_onnx import assert_exports_faithfully, built, mnist_images

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed")

import nnframe.onnx  # noqa: E402

L = nnframe.layer
STAND_INS = "standin-norm"


@attrs.define(eq=False)
class StandInBatchNorm(nnframe.Layer):
    """Test stand-in for batch_norm at inference (running statistics, last axis)."""

    momentum: float = 0.1
    eps: float = 1e-5

    def build(self, input_shape, rng, dtype):
        features = input_shape[-1]
        self.params = {"gamma": rng.uniform(0.5, 1.5, features).astype(dtype),
                       "beta": rng.normal(0.0, 0.5, features).astype(dtype)}
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}
        self.state = {"running_mean": rng.normal(0.0, 0.5, features).astype(dtype),
                      "running_var": rng.uniform(0.2, 2.0, features).astype(dtype)}

    def forward(self, x, training=False):
        assert not training, "a stand-in for inference only"
        scale = self.params["gamma"] / np.sqrt(self.state["running_var"] + self.eps)
        return (x - self.state["running_mean"]) * scale + self.params["beta"]


@attrs.define(eq=False)
class StandInLayerNorm(nnframe.Layer):
    """Test stand-in for layer_norm (each row's mean and biased variance, last axis)."""

    eps: float = 1e-5

    def build(self, input_shape, rng, dtype):
        features = input_shape[-1]
        self.params = {"gamma": rng.uniform(0.5, 1.5, features).astype(dtype),
                       "beta": rng.normal(0.0, 0.5, features).astype(dtype)}
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}

    def forward(self, x, training=False):
        centred = x - x.mean(axis=-1, keepdims=True)
        variance = np.mean(centred * centred, axis=-1, keepdims=True)
        return centred / np.sqrt(variance + self.eps) * self.params["gamma"] + \
            self.params["beta"]


@attrs.define(eq=False)
class StandInEmbedding(nnframe.Layer):
    """Test stand-in for embedding: indices (any numeric dtype) to rows of weights."""

    input_dim: int = 10
    output_dim: int = 4

    def output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def build(self, input_shape, rng, dtype):
        self.params = {"weights": rng.standard_normal((self.input_dim, self.output_dim))
                       .astype(dtype)}
        self.grads = {"weights": np.zeros_like(self.params["weights"])}

    def forward(self, x, training=False):
        return np.take(self.params["weights"], np.asarray(x).astype(np.intp), axis=0)


@pytest.fixture(autouse=True)
def stand_ins():
    """The stand-ins and the real converters, registered by one test plugin beside the
    installed ones."""
    def register_layers(register):
        register("batch_norm", StandInBatchNorm)
        register("layer_norm", StandInLayerNorm)
        register("embedding", StandInEmbedding)

    def register_converters(register):
        register("batch_norm", "nnframe.onnx.normalization:BatchNormConverter")
        register("layer_norm", "nnframe.onnx.normalization:LayerNormConverter")
        register("embedding", "nnframe.onnx.normalization:EmbeddingConverter")

    plugin = plugin_module("standin", register_layers=register_layers,
                           register_converters=register_converters)
    nnframe.registry.reset_registry(nnframe.registry.Registry(entry_points=lambda: [
        *importlib.metadata.entry_points(group="nnframe"), entry_point(STAND_INS, plugin)],
        warn=lambda message: None))  # the built-in layers of these names, once they exist


def layer(name: str, *args, **kwargs):
    return L(f"{STAND_INS}:{name}", *args, **kwargs)


@pytest.mark.parametrize("input_shape", [(6,), (5, 6), (4, 3, 6)])
def test_batch_norm(input_shape):
    assert_exports_faithfully(built([layer("batch_norm")], input_shape))


def test_batch_norm_between_conv_layers_stays_channels_first():
    pytest.importorskip("nnframe_conv", reason="nnframe-conv is not installed")
    network = built([L("conv2d", 4, 3), layer("batch_norm"), L("relu"), L("maxpool2d", 2),
                     L("flatten"), L("dense", output_size=3)], (9, 9, 2))
    assert_exports_faithfully(network)
    ops = [node.op_type for node in nnframe.onnx.to_model(network).graph.node]
    assert ops == ["Transpose", "Conv", "BatchNormalization", "Relu", "MaxPool",
                   "Transpose", "Flatten", "Gemm"]


@pytest.mark.parametrize("input_shape", [(6,), (5, 6)])
def test_layer_norm(input_shape):
    network = built([L("dense", output_size=7), layer("layer_norm", eps=1e-3)], input_shape)
    assert_exports_faithfully(network)


def test_embedding_of_float_indices_into_a_recurrent_layer():
    pytest.importorskip("nnframe_recurrent", reason="nnframe-recurrent is not installed")
    network = built([layer("embedding", input_dim=20, output_dim=5), L("gru", 6),
                     L("dense", output_size=2)], (7,))
    indices = np.random.default_rng(0).integers(0, 20, (500, 7)).astype(np.float32)
    assert_exports_faithfully(network, indices)


def test_resmlp_workload_with_the_stand_in_batch_norm():
    network = built([
        L("flatten"), L("dense", 784, 256), layer("batch_norm"), L("relu"),
        L("residual", layers=[{"type": "dense", "output_size": 256},
                              {"type": f"{STAND_INS}:batch_norm"}, "relu",
                              {"type": "dense", "output_size": 256},
                              {"type": f"{STAND_INS}:batch_norm"}]),
        L("relu"), L("dense", 256, 10)], (28, 28, 1))
    assert_exports_faithfully(network, mnist_images())


def test_resmlp_workload_with_the_builtin_layers():
    """Runs once nnframe's own batch_norm is registered; it then needs the converters
    of this module registered by the built-in plugin (register_converters)."""
    found = nnframe.get_registry().components("layer")
    if not any(c.builtin and c.name == "batch_norm" for c in found):
        pytest.skip("nnframe's own batch_norm layer is not in this version yet")
    network = built([
        L("flatten"), L("dense", 784, 256), L("batch_norm"), L("relu"),
        L("residual", layers=[{"type": "dense", "output_size": 256}, "batch_norm", "relu",
                              {"type": "dense", "output_size": 256}, "batch_norm"]),
        L("relu"), L("dense", 256, 10)], (28, 28, 1))
    rng = np.random.default_rng(0)
    for key, value in network.state().items():  # running statistics away from 0 and 1
        value[...] = rng.uniform(0.2, 2.0, value.shape) if key.endswith("var") else \
            rng.normal(0.0, 0.5, value.shape)
    assert_exports_faithfully(network, mnist_images())
