"""The conv layers' named kernels: their NumPy references pass the kit, agree with plain
loops over every window, and are what the layers run with NNFRAME_KERNELS=reference; the
conv's im2col as a kernel gives the layer's results of before bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe
from nnframe.speed import kernels
from nnframe.testing import check_kernel

nnframe_conv = pytest.importorskip("nnframe_conv")
from nnframe_conv import kernels as conv_kernels  # noqa: E402
from nnframe_conv.conv2d import Conv2D  # noqa: E402
from nnframe_conv.kernel_cases import COL2IM_CASES, IM2COL_CASES, POOL_CASES  # noqa: E402
from nnframe_conv.windows import window_view  # noqa: E402


@pytest.mark.parametrize("name", ["maxpool2d_backward", "im2col", "col2im"])
def test_the_references_are_declared_and_pass_the_kit(name):
    assert kernels.spec(name).reference == f"nnframe_conv.kernels:{name}"
    report = check_kernel(f"nnframe-conv:{name}")
    assert report.passed and len(report.properties) >= 5  # imports, and one per case


def looped_maxpool_backward(x, y, grad_output, *, pool, stride, dilation):
    """Window by window: the gradient to the first cell (row-major) equal to the max."""
    grad_input = np.zeros_like(x)
    n, out_h, out_w, channels = y.shape
    for b, i, j, c in np.ndindex(n, out_h, out_w, channels):
        cells = [(i * stride[0] + p * dilation[0], j * stride[1] + q * dilation[1])
                 for p in range(pool[0]) for q in range(pool[1])]
        r, s = next(((r, s) for r, s in cells if x[b, r, s, c] == y[b, i, j, c]), cells[-1])
        grad_input[b, r, s, c] += grad_output[b, i, j, c]
    return grad_input


def looped_im2col(padded, patches_shape, *, stride, dilation):
    """Cell by cell, into the window matrix's layout for the channel count."""
    one_channel = len(patches_shape) == 5
    patches = np.empty(patches_shape, padded.dtype)
    if one_channel:
        kh, kw, n, out_h, out_w = patches_shape
        channels = 1
    else:
        n, out_h, out_w, kh, kw, channels = patches_shape
    for b, r, s, i, j, c in np.ndindex(n, out_h, out_w, kh, kw, channels):
        value = padded[b, r * stride[0] + i * dilation[0], s * stride[1] + j * dilation[1], c]
        if one_channel:
            patches[i, j, b, r, s] = value
        else:
            patches[b, r, s, i, j, c] = value
    return patches


def looped_col2im(dcols, shape, *, stride, dilation):
    grad_input = np.zeros(shape, dcols.dtype)
    kh, kw, n, out_h, out_w, _ = dcols.shape
    for i, j, b, r, s in np.ndindex(kh, kw, n, out_h, out_w):
        grad_input[b, r * stride[0] + i * dilation[0], s * stride[1] + j * dilation[1]] += \
            dcols[i, j, b, r, s]
    return grad_input


@pytest.mark.parametrize("label", POOL_CASES)
def test_maxpool_backward_routes_to_the_first_arg_max(label):
    (x, y, grad_output, grad_input), options = conv_kernels.pool_arguments(
        label, np.random.default_rng(0), np.dtype(np.float64))
    conv_kernels.maxpool2d_backward(x, y, grad_output, grad_input, **options)
    # overlapping windows add in another order: float64 rounding apart
    np.testing.assert_allclose(
        grad_input, looped_maxpool_backward(x, y, grad_output, **options), rtol=1e-12,
        atol=1e-12)


@pytest.mark.parametrize("label", IM2COL_CASES)
def test_im2col_copies_every_window(label):
    (padded, patches), options = conv_kernels.im2col_arguments(
        label, np.random.default_rng(0), np.dtype(np.float32))
    conv_kernels.im2col(padded, patches, **options)
    np.testing.assert_array_equal(patches, looped_im2col(padded, patches.shape, **options))


class PreviousConv2D(Conv2D):
    """The conv's im2col as it was before it became a kernel, on one thread (the split
    over threads only partitions the copy): the oracle."""

    def _im2col(self, padded, rows, cols, buffers):
        kh, kw = self.kernel_size
        n, _, _, channels = padded.shape
        windows = window_view(padded, rows, cols)
        pixels = n * rows.out * cols.out
        if channels == 1:
            patches = buffers.get("cols", (kh, kw, n, rows.out, cols.out), padded.dtype)
            np.copyto(patches, windows[:, :, :, 0].transpose(3, 4, 0, 1, 2))
            return patches.reshape(kh * kw, pixels)
        patches = buffers.get("cols", (n, rows.out, cols.out, kh, kw, channels), padded.dtype)
        np.copyto(patches, windows.transpose(0, 1, 2, 4, 5, 3))
        return patches.reshape(pixels, kh * kw * channels)


def conv_results(cls, options, shape, dtype):
    """Output, dE/dx and the gradients of a conv built from one seed."""
    layer = cls(**options)
    layer.build(shape[1:], np.random.default_rng(1), np.dtype(dtype))
    rng = np.random.default_rng(7)
    y = layer.forward(rng.standard_normal(shape).astype(dtype), training=True)
    dx = layer.backward(rng.standard_normal(y.shape).astype(dtype))
    return [y.copy(), dx.copy(), *(g.copy() for g in layer.grads.values())]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("options", "shape"), [
    ({"filters": 8, "kernel_size": 3}, (64, 28, 28, 1)),  # the cnn's first conv
    ({"filters": 16, "kernel_size": 3}, (64, 13, 13, 8)),  # the cnn's second
    ({"filters": 3, "kernel_size": 3, "stride": 2, "padding": "same"}, (1, 9, 8, 1)),
    ({"filters": 2, "kernel_size": (2, 3), "dilation": 2}, (2, 8, 9, 3)),
    ({"filters": 4, "kernel_size": 2, "stride": (3, 4)}, (3, 10, 11, 2)),
])
def test_the_conv_gives_its_previous_results_bit_for_bit(options, shape, dtype, monkeypatch):
    monkeypatch.setenv(kernels.KERNELS_ENV, "reference")
    kernels.forget()
    found = conv_results(Conv2D, options, shape, dtype)
    previous = conv_results(PreviousConv2D, options, shape, dtype)
    for got, want in zip(found, previous, strict=True):
        assert got.dtype == want.dtype == dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("label", COL2IM_CASES)
def test_col2im_adds_every_window_position_back(label):
    (dcols, grad_input), options = conv_kernels.col2im_arguments(
        label, np.random.default_rng(0), np.dtype(np.float64))
    conv_kernels.col2im(dcols, grad_input, **options)
    np.testing.assert_allclose(grad_input, looped_col2im(dcols, grad_input.shape, **options),
                               rtol=1e-12, atol=1e-12)


def test_reference_mode_runs_the_references_in_the_layers(monkeypatch):
    monkeypatch.setenv(kernels.KERNELS_ENV, "reference")
    calls = []

    def counted(name):
        original = getattr(conv_kernels, name)
        return lambda *args, **kwargs: calls.append(name) or original(*args, **kwargs)

    for name in ("maxpool2d_backward", "im2col", "col2im"):
        monkeypatch.setattr(conv_kernels, name, counted(name))
    kernels.forget()
    assert nnframe.kernel("col2im") is conv_kernels.col2im
    rng = np.random.default_rng(0)
    for layer, shape in ((nnframe.layer("maxpool2d", 2), (2, 6, 6, 3)),
                         (nnframe.layer("conv2d", 4, 3), (2, 6, 6, 3))):
        layer.build(shape[1:], rng, np.dtype(np.float32))
        y = layer.forward(rng.standard_normal(shape).astype(np.float32), training=True)
        layer.backward(np.ones_like(y))
    assert calls == ["maxpool2d_backward", "im2col", "col2im"]
