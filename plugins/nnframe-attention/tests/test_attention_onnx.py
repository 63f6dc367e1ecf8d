"""ONNX export of the attention layers: onnxruntime gives nnframe's predictions, with the
causal mask, the padding-mask channel (a sample that is all padding included) and every
pooling mode. Skipped without the onnx extra."""

from __future__ import annotations

import numpy as np
import pytest
from attention_data import keep_mask, with_mask_channel

import nnframe

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed")
ort = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")

import nnframe.onnx  # noqa: E402

L = nnframe.layer
TIME, F = 7, 8


def assert_exports_faithfully(network, x):
    model = nnframe.onnx.to_model(network)
    onnx.checker.check_model(model, full_check=True)
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    for size in (1, len(x)):
        (got,) = session.run(["output"], {"input": x[:size]})
        expected = network.predict(x[:size])
        assert got.shape == expected.shape
        scale = max(float(np.max(np.abs(expected))), 1e-6)
        assert np.max(np.abs(got - expected)) / scale < 1e-5


def data(padding: bool, n: int = 6) -> np.ndarray:
    x = np.random.default_rng(1).standard_normal((n, TIME, F)).astype(np.float32)
    return with_mask_channel(x, keep_mask(n, TIME)) if padding else x


def perturbed(network):
    rng = np.random.default_rng(3)
    for parameter in network.parameters():
        parameter.value[...] += 0.1 * rng.standard_normal(parameter.value.shape)
    return network


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("padding", [False, True])
def test_multi_head_attention(causal, padding):
    network = nnframe.Network([L("multi_head_attention", 2, causal=causal,
                                 padding_mask=padding)]).build((TIME, F + padding), seed=0)
    assert_exports_faithfully(perturbed(network), data(padding))


@pytest.mark.parametrize("mode", ["mean", "first", "last"])
@pytest.mark.parametrize("padding", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_a_transformer_classifier(mode, padding, norm_first):
    network = nnframe.Network([
        L("sinusoidal_position", padding_mask=padding),
        L("positional_embedding", TIME, padding_mask=padding),
        L("transformer_encoder", 4, 16, activation="gelu", norm_first=norm_first,
          padding_mask=padding),
        L("transformer_encoder", 2, 8, padding_mask=padding),
        L("sequence_pool", mode, padding_mask=padding),
        L("dense", output_size=3)]).build((TIME, F + padding), seed=0)
    assert_exports_faithfully(perturbed(network), data(padding))


def test_a_causal_language_model_on_token_indices():
    network = nnframe.Network([
        L("embedding", 20, F), L("positional_embedding", TIME),
        L("multi_head_attention", 2, causal=True), L("dense", output_size=20)]
    ).build((TIME,), seed=0)
    x = np.random.default_rng(2).integers(0, 20, (5, TIME)).astype(np.float32)
    assert_exports_faithfully(perturbed(network), x)
