"""conv2d, maxpool2d and avgpool2d export to ONNX: onnxruntime gives nnframe's outputs.

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


def exported_outputs_match(layers: list, input_shape: tuple[int, ...],
                           dtype: str = "float32") -> onnx.ModelProto:
    network = nnframe.Network(layers, dtype=dtype).build(input_shape, seed=0)
    rng = np.random.default_rng(0)
    for parameter in network.parameters():  # biases start at zero: make them count
        if parameter.key.endswith("bias"):
            parameter.value[...] = rng.normal(0.0, 0.3, parameter.value.shape)
    model = nnframe.onnx.to_model(network)
    onnx.checker.check_model(model, full_check=True)
    runner = ort.InferenceSession(model.SerializeToString(),
                                  providers=["CPUExecutionProvider"])
    x = rng.standard_normal((500, *input_shape)).astype(np.float32)
    for size in (1, 7, 500):
        (got,) = runner.run(["output"], {"input": x[:size]})
        expected = network.predict(x[:size])
        assert got.shape == expected.shape
        difference = np.max(np.abs(got - expected)) / np.max(np.abs(expected))
        assert difference <= 1e-5, (size, difference)
    return model


@pytest.mark.parametrize(("kernel", "stride", "padding", "shape"), [
    (3, 1, "valid", (9, 8, 2)),
    (3, 1, "same", (9, 8, 2)),
    (3, 2, "same", (9, 8, 2)),
    (3, 2, "valid", (9, 8, 2)),
    (2, 2, "same", (7, 7, 3)),       # even kernel: one cell more padding after than before
    (4, 1, "same", (6, 5, 1)),       # even kernel, stride 1
    ((2, 3), (2, 1), "same", (7, 6, 2)),
    ((1, 5), (3, 2), "valid", (10, 11, 2)),
])
def test_conv2d(kernel, stride, padding, shape):
    exported_outputs_match([L("conv2d", 4, kernel, stride=stride, padding=padding),
                            L("flatten"), L("dense", output_size=3)], shape)


@pytest.mark.parametrize("options", [
    {"groups": 2},
    {"groups": 4, "stride": 2, "padding": "same"},  # depthwise
    {"dilation": (2, 1), "padding": 2},
    {"padding": (1, 2), "use_bias": False},
    {"padding": 2, "padding_mode": "reflect"},
    {"padding": (2, 1), "padding_mode": "replicate", "stride": 2},
    {"padding": "same", "padding_mode": "circular", "groups": 2, "dilation": 2},
])
def test_conv2d_options(options):
    exported_outputs_match([L("conv2d", 4, 3, **options), L("flatten"),
                            L("dense", output_size=3)], (7, 6, 4))


@pytest.mark.parametrize(("pool", "options"), [
    ("maxpool2d", {"pool_size": 3, "stride": 2, "padding": 1}),
    ("maxpool2d", {"pool_size": 2, "stride": 1, "padding": "same", "dilation": 2}),
    ("avgpool2d", {"pool_size": 3, "stride": 2, "padding": 1}),
    ("avgpool2d", {"pool_size": (2, 3), "padding": (1, 1), "count_include_pad": False}),
    ("avgpool2d", {"pool_size": 3, "stride": 2, "padding": 1, "divisor_override": 4}),
])
def test_pool_options(pool, options):
    exported_outputs_match([L(pool, **options), L("flatten"), L("dense", output_size=3)],
                           (7, 6, 2))


@pytest.mark.parametrize("pool", ["maxpool2d", "avgpool2d"])
@pytest.mark.parametrize(("size", "stride", "shape"), [
    (2, None, (8, 8, 3)),
    (2, None, (7, 9, 2)),            # odd sizes: the last partial window is dropped
    (3, 2, (7, 6, 2)),               # overlapping windows
    ((2, 3), (1, 2), (5, 7, 1)),
])
def test_pooling(pool, size, stride, shape):
    exported_outputs_match([L(pool, size, stride=stride)], shape)


def test_consecutive_conv_and_pool_layers_stay_channels_first():
    model = exported_outputs_match([
        L("conv2d", 4, 3, padding="same"), L("leaky_relu"), L("avgpool2d", 2),
        L("conv2d", 6, 2, stride=2), L("tanh"), L("maxpool2d", 2),
        L("flatten"), L("dense", output_size=5), L("softmax")], (12, 12, 3))
    ops = [node.op_type for node in model.graph.node]
    assert ops.count("Transpose") == 2 and ops[0] == "Transpose", ops


def test_a_float64_cnn_exports_as_float32():
    model = exported_outputs_match([L("conv2d", 3, 3), L("maxpool2d", 2), L("flatten")],
                                   (8, 8, 2), dtype="float64")
    assert {t.data_type for t in model.graph.initializer} == {onnx.TensorProto.FLOAT}


def test_images_output_keep_the_channels_last_layout():
    model = exported_outputs_match([L("conv2d", 5, 3, stride=2, padding="same")], (9, 7, 2))
    dims = [d.dim_param or d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 5, 4, 5]


@pytest.mark.parametrize("options", [
    {},
    {"stride": 2, "padding": "same", "dilation": 2},
    {"padding": 2, "padding_mode": "circular", "groups": 2, "use_bias": False},
    {"padding": 1, "padding_mode": "reflect"},
])
def test_conv1d(options):
    exported_outputs_match([L("conv1d", 4, 3, **options), L("flatten"),
                            L("dense", output_size=3)], (9, 2))


@pytest.mark.parametrize("options", [
    {"padding": "same"},
    {"depth_multiplier": 2, "stride": 2, "padding": 1, "use_bias": False},
])
def test_separable_conv2d(options):
    exported_outputs_match([L("separable_conv2d", 5, 3, **options), L("flatten"),
                            L("dense", output_size=3)], (7, 6, 3))


@pytest.mark.parametrize("pool", ["global_avg_pool", "global_max_pool"])
@pytest.mark.parametrize(("before", "shape"), [("conv2d", (6, 5, 2)), ("conv1d", (7, 2))])
def test_global_pooling(pool, before, shape):
    exported_outputs_match([L(before, 4, 3), L(pool), L("dense", output_size=3)], shape)


def test_global_pooling_at_opset_18_gives_the_axes_as_an_input():
    network = nnframe.Network([L("global_avg_pool")]).build((4, 3, 2), seed=0)
    model = nnframe.onnx.to_model(network, opset=18)
    onnx.checker.check_model(model, full_check=True)
    runner = ort.InferenceSession(model.SerializeToString(),
                                  providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((3, 4, 3, 2)).astype(np.float32)
    np.testing.assert_allclose(runner.run(["output"], {"input": x})[0], network.predict(x),
                               rtol=1e-6)
