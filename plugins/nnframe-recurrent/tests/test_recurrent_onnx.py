"""rnn, lstm and gru export to ONNX's RNN, LSTM and GRU: onnxruntime gives nnframe's
outputs, with the last state or every state (``return_sequences``).

Each network is checked with ``onnx.checker.check_model(..., full_check=True)`` and run
at batch sizes 1, 7 and 500 from one session (the batch axis is dynamic); the outputs
agree within 1e-5 relative to their scale (max |onnx - nnframe| / max |nnframe|).
"""

from __future__ import annotations

import numpy as np
import pytest

import nnframe

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed")
ort = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")

import nnframe.onnx  # noqa: E402

L = nnframe.layer
KINDS = ("rnn", "lstm", "gru")


def exported_outputs_match(layers: list, input_shape: tuple[int, ...],
                           dtype: str = "float32") -> onnx.ModelProto:
    network = nnframe.Network(layers, dtype=dtype).build(input_shape, seed=0)
    model = nnframe.onnx.to_model(network)
    onnx.checker.check_model(model, full_check=True)
    runner = ort.InferenceSession(model.SerializeToString(),
                                  providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((500, *input_shape)).astype(np.float32)
    for size in (1, 7, 500):
        (got,) = runner.run(["output"], {"input": x[:size]})
        expected = network.predict(x[:size])
        assert got.shape == expected.shape
        difference = np.max(np.abs(got - expected)) / np.max(np.abs(expected))
        assert difference <= 1e-5, (size, difference)
    return model


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("return_sequences", [False, True])
def test_one_layer(kind, return_sequences):
    exported_outputs_match([L(kind, 6, return_sequences=return_sequences)], (9, 4))


@pytest.mark.parametrize("kind", KINDS)
def test_stacked_layers_stay_time_major_between_them(kind):
    model = exported_outputs_match([L(kind, 5, return_sequences=True),
                                    L(kind, 7, return_sequences=True), L(kind, 3),
                                    L("dense", output_size=2)], (6, 3))
    ops = [node.op_type for node in model.graph.node]
    assert ops.count("Transpose") == 1, ops


@pytest.mark.parametrize("kind", KINDS)
def test_every_state_feeds_a_dense_layer(kind):
    exported_outputs_match([L(kind, 4, return_sequences=True), L("dense", output_size=3),
                            L("softmax")], (5, 2))


@pytest.mark.parametrize("kind", KINDS)
def test_one_time_step_and_float64(kind):
    exported_outputs_match([L(kind, 3)], (1, 4), dtype="float64")


def test_saturated_gates():
    """Large inputs drive the gates into saturation, where sigmoid and tanh round most."""
    network = nnframe.Network([L("lstm", 8, return_sequences=True), L("gru", 8)])
    network.build((12, 3), seed=0)
    for parameter in network.parameters():
        parameter.value *= 4.0
    model = nnframe.onnx.to_model(network)
    runner = ort.InferenceSession(model.SerializeToString(),
                                  providers=["CPUExecutionProvider"])
    x = 5.0 * np.random.default_rng(1).standard_normal((64, 12, 3)).astype(np.float32)
    expected = network.predict(x)
    (got,) = runner.run(["output"], {"input": x})
    assert np.max(np.abs(got - expected)) / np.max(np.abs(expected)) <= 1e-5


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("options", [
    {"bidirectional": True},
    {"bidirectional": True, "return_sequences": True},
    {"use_bias": False},
    {"use_bias": False, "bidirectional": True, "return_sequences": True},
])
def test_options(kind, options):
    exported_outputs_match([L(kind, 4, **options), L("flatten"), L("dense", output_size=3)],
                           (5, 3))


@pytest.mark.parametrize("bidirectional", [False, True])
def test_rnn_with_relu(bidirectional):
    exported_outputs_match([L("rnn", 4, nonlinearity="relu", bidirectional=bidirectional,
                              return_sequences=True), L("rnn", 3, nonlinearity="relu")],
                           (5, 3))


def test_stacked_bidirectional_layers():
    exported_outputs_match([L("lstm", 4, bidirectional=True, return_sequences=True),
                            L("gru", 3, bidirectional=True)], (6, 2))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("options", [
    {},
    {"bidirectional": True, "return_sequences": True},
    {"use_bias": False, "bidirectional": True},
])
def test_learned_initial_states(kind, options):
    layer = L(kind, 4, initial_state="learned", **options)
    network = nnframe.Network([layer]).build((5, 3), seed=0)
    for key, value in layer.params.items():
        if "initial" in key:  # zeros at build: give them values
            value[...] = np.random.default_rng(1).standard_normal(value.shape)
    model = nnframe.onnx.to_model(network)
    onnx.checker.check_model(model, full_check=True)
    runner = ort.InferenceSession(model.SerializeToString(),
                                  providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((7, 5, 3)).astype(np.float32)
    for size in (1, 7):
        (got,) = runner.run(["output"], {"input": x[:size]})
        np.testing.assert_allclose(got, network.predict(x[:size]), rtol=1e-5, atol=1e-6)
