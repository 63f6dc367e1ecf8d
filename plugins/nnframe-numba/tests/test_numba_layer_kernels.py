"""nnframe-numba's layer kernels: chosen over the conv and LSTM references, equal to them
within float32 rounding on the layers' own shapes, and the layers' float64 gradient
checks pass through them."""

from __future__ import annotations

import numpy as np
import pytest
from nnframe_numba import layers as fused

import nnframe
from nnframe.speed import kernels
from nnframe.testing import check_layer

nnframe_conv = pytest.importorskip("nnframe_conv")
nnframe_recurrent = pytest.importorskip("nnframe_recurrent")
from nnframe_conv import kernels as conv_kernels  # noqa: E402
from nnframe_recurrent import kernels as recurrent_kernels  # noqa: E402

LAYER_KERNELS = ("maxpool2d_backward", "col2im", "lstm_backward_gates")


@pytest.mark.parametrize("name", LAYER_KERNELS)
def test_nnframe_chooses_the_compiled_layer_kernel(name):
    assert nnframe.kernel(name) is getattr(fused, name)
    (choice,) = kernels.choices((name,))
    assert (choice.provider, choice.reason) == ("nnframe-numba", "checked")


def test_the_lstm_forward_step_stays_numpy():
    """Left out on purpose: numba's scalar exp and tanh lose to NumPy's (README)."""
    assert nnframe.kernel("lstm_forward_gates") is recurrent_kernels.lstm_forward_gates


def test_reference_mode_keeps_the_layers_on_numpy(monkeypatch):
    monkeypatch.setenv(kernels.KERNELS_ENV, "reference")
    assert nnframe.kernel("maxpool2d_backward") is conv_kernels.maxpool2d_backward
    assert nnframe.kernel("col2im") is conv_kernels.col2im
    assert nnframe.kernel("lstm_backward_gates") is recurrent_kernels.lstm_backward_gates


def layer_gradients(layer_config: dict, shape: tuple[int, ...], mode: str,
                    dtype=np.float32) -> list[np.ndarray]:
    """Output, dE/dx and the parameter gradients of one forward and backward."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape).astype(dtype)
    options = {k: v for k, v in layer_config.items() if k != "type"}
    layer = nnframe.layer(layer_config["type"], **options)
    layer.build(shape[1:], np.random.default_rng(1), np.dtype(dtype))
    with kernels.preference(mode):
        y = layer.forward(x, training=True)
        grad = rng.standard_normal(y.shape).astype(dtype)
        dx = layer.backward(grad)
    return [y.copy(), dx.copy(), *(g.copy() for g in layer.grads.values())]


@pytest.mark.parametrize(("config", "shape"), [
    ({"type": "maxpool2d", "pool_size": 2}, (64, 26, 26, 8)),  # the cnn's, tiled
    ({"type": "maxpool2d", "pool_size": 2}, (64, 11, 11, 16)),  # odd: the last row dropped
    ({"type": "maxpool2d", "pool_size": 3, "stride": 2, "padding": 1}, (2, 7, 6, 3)),
    ({"type": "maxpool2d", "pool_size": 2, "stride": 3}, (1, 8, 9, 2)),
    ({"type": "conv2d", "filters": 16, "kernel_size": 3}, (64, 13, 13, 8)),  # the cnn's
    ({"type": "conv2d", "filters": 3, "kernel_size": 3, "stride": 2, "padding": "same"},
     (2, 9, 8, 1)),
    ({"type": "conv2d", "filters": 2, "kernel_size": (2, 3), "dilation": 2}, (1, 8, 9, 3)),
    ({"type": "lstm", "units": 128}, (128, 28, 28)),  # the seq-mnist's
    ({"type": "lstm", "units": 5, "return_sequences": True, "initial_state": "learned"},
     (3, 4, 2)),
])
def test_the_layers_give_the_references_results_within_float32_rounding(config, shape):
    compiled = layer_gradients(config, shape, "auto")
    numpy = layer_gradients(config, shape, "reference")
    for got, want in zip(compiled, numpy, strict=True):
        assert got.dtype == want.dtype == np.float32
        scale = float(np.max(np.abs(want)))
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6 * scale)


@pytest.mark.parametrize(("config", "input_shape"), [
    ({"pool_size": 3, "stride": 2}, (7, 6, 2)),
    ({"pool_size": 2}, (6, 6, 3)),
])
def test_maxpool_gradients_pass_through_the_compiled_kernel(config, input_shape):
    assert nnframe.kernel("maxpool2d_backward") is fused.maxpool2d_backward
    check_layer("maxpool2d", input_shape, **config)


def test_conv_gradients_pass_through_the_compiled_kernel():
    assert nnframe.kernel("col2im") is fused.col2im
    check_layer("conv2d", (6, 6, 2), filters=4, kernel_size=3, stride=2, padding="same")


def test_lstm_gradients_pass_through_the_compiled_kernel():
    assert nnframe.kernel("lstm_backward_gates") is fused.lstm_backward_gates
    check_layer("lstm", (5, 3), units=4, return_sequences=True)


def test_other_dtypes_go_to_the_reference():
    x = np.arange(16, dtype=np.float16).reshape(1, 4, 4, 1)
    y = x.reshape(1, 2, 2, 2, 2, 1).max(axis=(2, 4))
    grad = np.ones_like(y)
    ours, theirs = np.empty_like(x), np.empty_like(x)
    options = {"pool": (2, 2), "stride": (2, 2), "dilation": (1, 1)}
    fused.maxpool2d_backward(x, y, grad, ours, **options)
    conv_kernels.maxpool2d_backward(x, y, grad, theirs, **options)
    np.testing.assert_array_equal(ours, theirs)
    assert ours.dtype == np.float16
