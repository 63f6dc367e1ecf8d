"""The ONNX converters of batch_norm, layer_norm and embedding (nnframe.onnx.normalization),
on the built-in layers, with running statistics moved away from 0 and 1 so that a converter
that ignored them would show. Outputs are compared as in test_onnx.py."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe
from tests.test_onnx import assert_exports_faithfully, built, mnist_images

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed")

import nnframe.onnx  # noqa: E402

L = nnframe.layer


def layer(name: str, *args, **kwargs):
    return L(name, *args, **kwargs)


def with_statistics(network: nnframe.Network) -> nnframe.Network:
    """Running statistics, gamma and beta away from their starting values."""
    rng = np.random.default_rng(0)
    for key, value in network.state().items():
        value[...] = rng.uniform(0.2, 2.0, value.shape) if key.endswith("var") else \
            rng.normal(0.0, 0.5, value.shape)
    for parameter in network.parameters():
        if parameter.key.endswith(("gamma", "beta")):
            parameter.value[...] = rng.uniform(0.5, 1.5, parameter.value.shape)
    return network


@pytest.mark.parametrize("input_shape", [(6,), (5, 6), (4, 3, 6)])
def test_batch_norm(input_shape):
    assert_exports_faithfully(with_statistics(built([layer("batch_norm")], input_shape)))


def test_batch_norm_between_conv_layers_stays_channels_first():
    pytest.importorskip("nnframe_conv", reason="nnframe-conv is not installed")
    network = with_statistics(built([L("conv2d", 4, 3), layer("batch_norm"), L("relu"),
                                     L("maxpool2d", 2), L("flatten"),
                                     L("dense", output_size=3)], (9, 9, 2)))
    assert_exports_faithfully(network)
    ops = [node.op_type for node in nnframe.onnx.to_model(network).graph.node]
    assert ops == ["Transpose", "Conv", "BatchNormalization", "Relu", "MaxPool",
                   "Transpose", "Flatten", "Gemm"]


@pytest.mark.parametrize("input_shape", [(6,), (5, 6)])
def test_layer_norm(input_shape):
    network = with_statistics(built([L("dense", output_size=7), layer("layer_norm", eps=1e-3)],
                                    input_shape))
    assert_exports_faithfully(network)


@pytest.mark.parametrize("input_shape", [(6,), (4, 3, 6)])
def test_standardize(input_shape):
    network = built([layer("standardize"), L("dense", output_size=3)], input_shape)
    rng = np.random.default_rng(0)
    network.layers[0].adapt(rng.normal(3.0, 5.0, (50, *input_shape)).astype(np.float32))
    network.layers[0].state["variance"][0] = 0.0  # a feature that does not vary
    assert_exports_faithfully(network)


def test_embedding_of_float_indices_into_a_recurrent_layer():
    pytest.importorskip("nnframe_recurrent", reason="nnframe-recurrent is not installed")
    network = built([layer("embedding", input_dim=20, output_dim=5), L("gru", 6),
                     L("dense", output_size=2)], (7,))
    indices = np.random.default_rng(0).integers(0, 20, (500, 7)).astype(np.float32)
    assert_exports_faithfully(network, indices)


def test_resmlp_workload():
    network = built([
        L("flatten"), L("dense", 784, 256), L("batch_norm"), L("relu"),
        L("residual", layers=[{"type": "dense", "output_size": 256}, "batch_norm", "relu",
                              {"type": "dense", "output_size": 256}, "batch_norm"]),
        L("relu"), L("dense", 256, 10)], (28, 28, 1))
    assert_exports_faithfully(with_statistics(network), mnist_images())
