"""nnframe-numba's layer kernels: chosen over the conv, LSTM and GRU references, equal to them
within float32 rounding on the layers' own shapes, and the layers' float64 gradient
checks pass through them."""

from __future__ import annotations

import numpy as np
import pytest
from nnframe_numba import conv as fused
from nnframe_numba import recurrent as fused_recurrent
from nnframe_numba.plugin import LAYER_KERNELS

import nnframe
from nnframe.speed import kernels
from nnframe.testing import check_layer

nnframe_conv = pytest.importorskip("nnframe_conv")
nnframe_recurrent = pytest.importorskip("nnframe_recurrent")
from nnframe_conv import kernels as conv_kernels  # noqa: E402
from nnframe_recurrent import kernels as recurrent_kernels  # noqa: E402

MODULES = {"conv": fused, "recurrent": fused_recurrent}


@pytest.mark.parametrize("name", sorted(LAYER_KERNELS))
def test_nnframe_chooses_the_compiled_layer_kernel(name):
    assert nnframe.kernel(name) is getattr(MODULES[LAYER_KERNELS[name][1]], name)
    (choice,) = kernels.choices((name,))
    assert (choice.provider, choice.reason) == ("nnframe-numba", "checked")


def test_reference_mode_keeps_the_layers_on_numpy(monkeypatch):
    monkeypatch.setenv(kernels.KERNELS_ENV, "reference")
    assert nnframe.kernel("maxpool2d_backward") is conv_kernels.maxpool2d_backward
    assert nnframe.kernel("col2im") is conv_kernels.col2im
    assert nnframe.kernel("im2col") is conv_kernels.im2col
    for name in ("lstm_forward_gates", "lstm_backward_gates", "gru_forward_gates",
                 "gru_backward_gates"):
        assert nnframe.kernel(name) is getattr(recurrent_kernels, name)


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
    ({"type": "conv2d", "filters": 8, "kernel_size": 3}, (64, 28, 28, 1)),  # the cnn's
    ({"type": "conv2d", "filters": 2, "kernel_size": (3, 2), "stride": (1, 2),
      "dilation": (2, 1), "padding": "same"}, (2, 9, 8, 1)),  # one channel, strided
    ({"type": "conv2d", "filters": 16, "kernel_size": 3}, (64, 13, 13, 8)),  # the cnn's
    ({"type": "conv2d", "filters": 3, "kernel_size": 3, "stride": 2, "padding": "same"},
     (2, 9, 8, 1)),
    ({"type": "conv2d", "filters": 2, "kernel_size": (2, 3), "dilation": 2}, (1, 8, 9, 3)),
    ({"type": "lstm", "units": 128}, (128, 28, 28)),  # the seq-mnist's
    ({"type": "lstm", "units": 5, "return_sequences": True, "initial_state": "learned"},
     (3, 4, 2)),
    ({"type": "gru", "units": 128}, (128, 28, 28)),  # the benchmark's GRU
    ({"type": "gru", "units": 5, "return_sequences": True, "initial_state": "learned"},
     (3, 4, 2)),
    ({"type": "gru", "units": 1}, (1, 3, 2)),  # batch 1, one unit
    ({"type": "gru", "units": 3, "bidirectional": True}, (2, 5, 4)),
    ({"type": "lstm", "units": 3, "bidirectional": True, "return_sequences": True},
     (2, 5, 4)),  # the reverse direction runs on a time-reversed view
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
    assert nnframe.kernel("im2col") is fused.im2col
    check_layer("conv2d", (7, 6, 1), filters=3, kernel_size=(3, 2), stride=(2, 1))


@pytest.mark.parametrize(("shape", "kernel", "stride", "dilation"), [
    ((3, 9, 8, 1), (3, 3), (1, 1), (1, 1)), ((1, 9, 5, 1), (3, 2), (2, 1), (3, 1))])
def test_im2col_of_one_channel_copies_the_references_cells(shape, kernel, stride, dilation):
    rng = np.random.default_rng(0)
    padded = rng.standard_normal(shape).astype(np.float32)
    out = [(size - d * (k - 1) - 1) // s + 1
           for size, k, s, d in zip(shape[1:3], kernel, stride, dilation, strict=True)]
    ours = np.full((*kernel, shape[0], *out), np.nan, np.float32)
    theirs = ours.copy()
    fused.im2col(padded, ours, stride=stride, dilation=dilation)
    conv_kernels.im2col(padded, theirs, stride=stride, dilation=dilation)
    np.testing.assert_array_equal(ours, theirs)


def test_im2col_where_it_does_not_pay_runs_numpys(monkeypatch):
    """Where NumPy's strided copy is as fast or faster (more channels, a stride or
    dilation along the width), or the loop would need a copy first (a batch that is not
    C-contiguous), the reference runs."""
    calls = []
    monkeypatch.setattr(conv_kernels, "im2col", lambda *a, **k: calls.append(a[1].ndim))
    rng = np.random.default_rng(0)
    options = {"stride": (1, 1), "dilation": (1, 1)}
    fused.im2col(rng.standard_normal((2, 5, 5, 3)), np.empty((2, 3, 3, 3, 3, 3)), **options)
    strided = rng.standard_normal((2, 5, 10, 1))[:, :, ::2]
    fused.im2col(strided, np.empty((3, 3, 2, 3, 3)), **options)
    image = rng.standard_normal((2, 5, 7, 1))
    fused.im2col(image, np.empty((3, 3, 2, 3, 3)), stride=(1, 2), dilation=(1, 1))
    fused.im2col(image, np.empty((3, 3, 2, 3, 3)), stride=(1, 1), dilation=(1, 2))
    assert calls == [6, 5, 5, 5]


def test_lstm_gradients_pass_through_the_compiled_kernel():
    assert nnframe.kernel("lstm_backward_gates") is fused_recurrent.lstm_backward_gates
    check_layer("lstm", (5, 3), units=4, return_sequences=True)


def test_gru_gradients_pass_through_the_compiled_kernel():
    assert nnframe.kernel("gru_backward_gates") is fused_recurrent.gru_backward_gates
    check_layer("gru", (5, 3), units=4, return_sequences=True)


@pytest.mark.parametrize(("dtype", "n", "units"), [
    (np.float32, 128, 128), (np.float32, 3, 7), (np.float64, 1, 1), (np.float64, 4, 9)])
def test_the_gru_step_gives_the_references_arrays(dtype, n, units):
    """Every array the GRU's backward step writes, against the reference, within float32
    (float64) rounding, on the benchmark's shapes and on odd ones."""
    rng = np.random.default_rng(units)
    gate = rng.uniform(0.0, 1.0, (n, 3 * units))  # activated r, z and n (in 0..1)
    ours = [gate, *(rng.standard_normal(shape) for shape in (
        (n, 3 * units), (n, units), (n, units), (n, 3 * units), (n, 3 * units)))]
    ours = [a.astype(dtype) for a in ours]
    theirs = [a.copy() for a in ours]
    fused_recurrent.gru_backward_gates(*ours)
    recurrent_kernels.gru_backward_gates(*theirs)
    rtol = 2e-5 if dtype == np.float32 else 1e-12
    for got, want in zip(ours, theirs, strict=True):
        assert got.dtype == want.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * 1e-2)


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


def forward_arrays(kind: str, n: int, units: int, dtype, scale: float = 1.0):
    """A forward step's arrays: pre-activations drawn with ``scale``, outputs NaN."""
    rng = np.random.default_rng(units)
    width = (4 if kind == "lstm" else 3) * units
    draw = [rng.standard_normal((n, width)) * scale]
    draw += [rng.standard_normal((n, width))] if kind == "gru" else []
    draw += [rng.standard_normal((n, units))]
    unset = [np.full((n, units), np.nan) for _ in range(3 if kind == "lstm" else 1)]
    return [a.astype(dtype) for a in (*draw, *unset)]


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize(("n", "units", "scale"), [
    (128, 128, 1.0), (64, 128, 8.0), (3, 7, 30.0), (1, 1, 1.0)])
def test_the_forward_steps_give_the_references_arrays(kind, n, units, scale):
    """Every array a forward step writes, against the reference within float32 rounding,
    from pre-activations near 0 to far in the saturated tails (``scale``)."""
    ours = forward_arrays(kind, n, units, np.float32, scale)
    theirs = [a.copy() for a in ours]
    getattr(fused_recurrent, f"{kind}_forward_gates")(*ours)
    with np.errstate(over="ignore"):
        getattr(recurrent_kernels, f"{kind}_forward_gates")(*theirs)
    for got, want in zip(ours, theirs, strict=True):
        assert got.dtype == want.dtype == np.float32
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-7)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_a_nan_in_a_forward_step_stays_nan_and_inf_saturates(kind):
    """A diverging run must still show: NaN propagates as in the reference; an infinite
    pre-activation saturates its gate as the reference's does."""
    ours = forward_arrays(kind, 2, 3, np.float32)
    ours[0][0, :] = np.nan
    ours[0][1, ::2], ours[0][1, 1::2] = np.inf, -np.inf
    theirs = [a.copy() for a in ours]
    getattr(fused_recurrent, f"{kind}_forward_gates")(*ours)
    with np.errstate(over="ignore", invalid="ignore"):
        getattr(recurrent_kernels, f"{kind}_forward_gates")(*theirs)
    for got, want in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got[1], want[1], rtol=0, atol=1e-30)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_float64_forward_steps_run_the_reference(kind, monkeypatch):
    """Gradient checks run in float64, which the compiled forward steps leave to NumPy."""
    ours = forward_arrays(kind, 3, 5, np.float64)
    theirs = [a.copy() for a in ours]
    getattr(fused_recurrent, f"{kind}_forward_gates")(*ours)
    getattr(recurrent_kernels, f"{kind}_forward_gates")(*theirs)
    for got, want in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(got, want)


def test_the_recurrent_steps_hold_no_gil():
    """`fit(strategy="threads")` runs the shares' time steps at once: each compiled step
    must let go of the GIL for its whole loop."""
    for compiled in (fused_recurrent._lstm_forward, fused_recurrent._lstm_backward,
                     fused_recurrent._gru_forward, fused_recurrent._gru_backward):
        assert compiled.targetoptions["nogil"] is True
