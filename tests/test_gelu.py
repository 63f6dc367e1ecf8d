"""The gelu layer: its erf, gradients in both forms, dtypes, PyTorch parity (optional)
and its ONNX converter (Erf or Tanh arithmetic at the project's opset)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nnframe
from nnframe.layers.gelu import GELU, erf, fast_erf
from nnframe.testing import assert_layer_gradients, check_layer


def test_erf_matches_the_standard_library_everywhere():
    x = np.concatenate([np.linspace(-9.0, 9.0, 40001), [0.0, -0.0, 2.5, -2.5, 1e-300]])
    expected = np.array([math.erf(v) for v in x])
    assert np.max(np.abs(erf(x) - expected)) < 5e-14


def test_erf_keeps_float32():
    assert erf(np.ones(3, np.float32)).dtype == np.float32


def test_float32_erf_is_as_precise_as_float32():
    x = np.linspace(-9.0, 9.0, 40001)
    expected = np.array([math.erfc(v) for v in np.abs(x)])
    erfc = 1.0 - np.abs(fast_erf(x))
    np.testing.assert_allclose(erfc, expected, rtol=1.2e-7, atol=1e-16)
    exact = np.array([math.erf(v) for v in x])
    assert np.max(np.abs(erf(x.astype(np.float32)) - exact)) < 2e-7


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_kit_checks_both_forms(approximate):
    check_layer("gelu", (3, 4), approximate=approximate)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gradient_over_a_wide_range(approximate):
    layer = nnframe.layer("gelu", approximate=approximate)
    layer.build((5, 3), np.random.default_rng(0), np.dtype("float64"))
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 3.0, (4, 5, 3))
    assert_layer_gradients(layer, x, rng.standard_normal(x.shape))


def test_formulas():
    x = np.linspace(-6, 6, 101)
    exact = GELU().forward(x)
    expected = np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x])
    np.testing.assert_allclose(exact, expected, rtol=1e-10, atol=1e-14)
    tanh = GELU(approximate="tanh").forward(x)
    u = math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)
    np.testing.assert_allclose(tanh, 0.5 * x * (1 + np.tanh(u)), rtol=1e-13)


def test_float32_stays_float32():
    layer = GELU()
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    y = layer.forward(x, training=True)
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32


def test_unknown_form_is_refused():
    with pytest.raises(nnframe.ConfigError, match="approximate"):
        nnframe.layer("gelu", approximate="sigmoid")


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_matches_pytorch(approximate):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (an optional "
                                "cross-check)")
    rng = np.random.default_rng(2)
    x = rng.normal(0.0, 2.5, (6, 7))
    upstream = rng.standard_normal(x.shape)
    layer = GELU(approximate=approximate)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.GELU(approximate=approximate)(xt)
    yt.backward(torch.tensor(upstream))
    np.testing.assert_allclose(layer.forward(x, training=True), yt.detach().numpy(),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layer.backward(upstream), xt.grad.numpy(), rtol=1e-12,
                               atol=1e-15)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_onnx_export(approximate):
    pytest.importorskip("onnx", reason="the onnx extra is not installed")
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
    from tests.test_onnx import assert_exports_faithfully, built

    network = built([nnframe.layer("dense", output_size=6),
                     nnframe.layer("gelu", approximate=approximate)], (4,))
    assert_exports_faithfully(network)
