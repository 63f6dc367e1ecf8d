"""adaptive_avg_pool2d and adaptive_max_pool2d: PyTorch's adaptive windows, finite
differences, the kit, the empty batch, ONNX and, where torch is installed, float64 parity
with torch.nn.AdaptiveAvgPool2d / AdaptiveMaxPool2d."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe

nnframe_conv = pytest.importorskip(
    "nnframe_conv", reason="nnframe-conv is not installed: `pip install ./plugins/nnframe-conv` "
    "or run `nox -s tests`")
from nnframe_conv.adaptive_pooling import windows  # noqa: E402

F64 = np.dtype("float64")
CASES = [((3, 2), (7, 5, 2)), (3, (6, 6, 3)), ((2, None), (5, 4, 2)), ((4, 5), (4, 5, 1)),
         (1, (3, 4, 2)), ((5, 3), (3, 2, 2))]  # the last: windows overlap, output > input
NAMES = ["adaptive_avg_pool2d", "adaptive_max_pool2d"]


def built(name, size, shape):
    layer = nnframe.layer(name, size)
    layer.build(shape, np.random.default_rng(0), F64)
    return layer


def test_windows_are_pytorchs():
    assert windows(7, 3) == [(0, 3), (2, 5), (4, 7)]
    assert windows(6, 3) == [(0, 2), (2, 4), (4, 6)]
    assert windows(2, 5) == [(0, 1), (0, 1), (0, 2), (1, 2), (1, 2)]  # overlapping


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("size", "shape"), CASES)
def test_gradients(name, size, shape, rng, check_gradients):
    check_gradients(built(name, size, shape), rng.standard_normal((2, *shape)), rng)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("size", "shape"), CASES[:3])
def test_passes_the_kit(name, size, shape):
    from nnframe.testing import check_layer

    check_layer(name, shape, output_size=size)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("size", "shape"), CASES)
def test_matches_torch(name, size, shape, rng):
    torch = pytest.importorskip("torch")
    layer = built(name, size, shape)
    x = rng.standard_normal((3, *shape))
    y = layer.forward(x, training=True)
    upstream = rng.standard_normal(y.shape)
    grad_input = layer.backward(upstream)
    module = (torch.nn.AdaptiveAvgPool2d if "avg" in name else torch.nn.AdaptiveMaxPool2d)(size)
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    ty = module(tx)
    ty.backward(torch.tensor(upstream.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 3, 1), atol=1e-12)
    np.testing.assert_allclose(grad_input, tx.grad.numpy().transpose(0, 2, 3, 1), atol=1e-12)
    np.testing.assert_allclose(layer.forward(x), y, atol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_empty_batch(name):
    layer = built(name, (3, 2), (7, 5, 2))
    y = layer.forward(np.zeros((0, 7, 5, 2)), training=True)
    assert y.shape == (0, 3, 2, 2)
    assert layer.backward(np.zeros(y.shape)).shape == (0, 7, 5, 2)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("size", "shape"), [((3, 2), (7, 5, 2)), ((2, None), (5, 4, 2))])
def test_onnx_export_matches_predict(name, size, shape):
    onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed")
    ort = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
    import nnframe.onnx

    network = nnframe.Network([nnframe.layer("conv2d", 3, 1), nnframe.layer(name, size),
                               nnframe.layer("flatten")]).build(shape, seed=0)
    model = nnframe.onnx.to_model(network)
    onnx.checker.check_model(model, full_check=True)
    runner = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((7, *shape)).astype(np.float32)
    for n in (1, 7):
        (got,) = runner.run(["output"], {"input": x[:n]})
        np.testing.assert_allclose(got, network.predict(x[:n]), rtol=1e-5, atol=1e-6)


def test_bad_output_size_is_a_config_error():
    with pytest.raises(nnframe.ConfigError, match="output_size must be a positive integer"):
        nnframe.layer("adaptive_avg_pool2d", (0, 2))
