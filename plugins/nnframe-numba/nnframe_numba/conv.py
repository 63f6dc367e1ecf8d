"""The conv layers' loops: the max-pool backward, im2col (one channel) and col2im, each one
compiled loop in place of the references' array passes (`nnframe_conv.kernels`).

Each public function has the signature of the reference of the same name. im2col copies,
and max-pool's routing and col2im's sums add in the references' order. Arrays in another
layout are taken as they are (numba compiles a version per layout, cached); dtypes other
than float32 and float64 go to the reference.

Left out because it does not pay: im2col with more than one channel, where NumPy's
strided copy beats the compiled loops tried (README). The recurrent layers' kernels are
in `nnframe_numba.recurrent`.
"""

from __future__ import annotations

import numpy as np

from nnframe_numba.cache import compiled
from nnframe_numba.fallback import FLOATS, reference, same_dtype


@compiled
def _maxpool_backward(x, y, grad_output, grad_input, ph, pw, sh, sw, dh, dw,
                      tiled):  # pragma: no cover - compiled
    n, out_h, out_w, channels = y.shape
    if not tiled:
        grad_input[...] = 0.0
    zero = grad_output.dtype.type(0.0)
    free = np.empty(channels, np.bool_)  # channels whose arg-max is not found yet
    last = ph * pw - 1
    for b in range(n):
        for i in range(out_h):
            for j in range(out_w):
                free[:] = True
                for k in range(last + 1):  # positions in row-major order
                    r = i * sh + (k // pw) * dh
                    s = j * sw + (k % pw) * dw
                    for c in range(channels):  # branch-free: it vectorises
                        hit = free[c] and (k == last or x[b, r, s, c] == y[b, i, j, c])
                        free[c] = free[c] and not hit
                        value = grad_output[b, i, j, c] if hit else zero
                        if tiled:  # each cell lies in one window: written once
                            grad_input[b, r, s, c] = value
                        else:
                            grad_input[b, r, s, c] += value


@compiled
def _im2col_positions(image, patches, sh, dh):  # pragma: no cover - compiled
    kh, kw, n, out_h, out_w = patches.shape
    for i in range(kh):
        for j in range(kw):
            for b in range(n):
                for y in range(out_h):
                    source = image[b, y * sh + i * dh]
                    target = patches[i, j, b, y]
                    for x in range(out_w):  # loop counters only: a vector copy
                        target[x] = source[x + j]


@compiled
def _col2im(dcols, grad_input, sh, sw, dh, dw):  # pragma: no cover - compiled
    kh, kw, n, out_h, out_w, channels = dcols.shape
    grad_input[...] = 0.0
    for b in range(n):
        for i in range(kh):
            for j in range(kw):
                for y in range(out_h):
                    r = y * sh + i * dh
                    for x in range(out_w):
                        s = x * sw + j * dw
                        for c in range(channels):
                            grad_input[b, r, s, c] += dcols[i, j, b, y, x, c]


def maxpool2d_backward(x: np.ndarray, y: np.ndarray, grad_output: np.ndarray,
                       grad_input: np.ndarray, *, pool: tuple[int, int],
                       stride: tuple[int, int], dilation: tuple[int, int]) -> None:
    """Each window's gradient to its arg-max, one pass over the windows; as the
    reference (`nnframe_conv.kernels.maxpool2d_backward`)."""
    if not same_dtype(FLOATS, x, y, grad_output, grad_input):
        reference("nnframe_conv.kernels", "maxpool2d_backward")(
            x, y, grad_output, grad_input, pool=pool, stride=stride, dilation=dilation)
        return
    tiled = all(s == p and d == 1 and o * p == size for s, p, d, o, size in zip(
        stride, pool, dilation, y.shape[1:3], x.shape[1:3], strict=True))
    _maxpool_backward(x, y, grad_output, grad_input, pool[0], pool[1], stride[0],
                      stride[1], dilation[0], dilation[1], tiled)


def im2col(padded: np.ndarray, patches: np.ndarray, *, stride: tuple[int, int],
           dilation: tuple[int, int]) -> None:
    """The window matrix; as the reference (`nnframe_conv.kernels.im2col`). Compiled for
    one channel with unit stride and dilation along the width, where each window
    position copies runs of image rows; elsewhere NumPy's one strided copy is as fast or
    faster (README), and runs."""
    if (patches.ndim != 5 or stride[1] != 1 or dilation[1] != 1
            or not padded.flags.c_contiguous or not same_dtype(FLOATS, padded, patches)):
        reference("nnframe_conv.kernels", "im2col")(padded, patches, stride=stride,
                                                     dilation=dilation)
        return
    _im2col_positions(padded.reshape(padded.shape[:3]), patches, stride[0], dilation[0])


def col2im(dcols: np.ndarray, grad_input: np.ndarray, *, stride: tuple[int, int],
           dilation: tuple[int, int]) -> None:
    """The window matrix's gradient added back onto the image in one pass; as the
    reference (`nnframe_conv.kernels.col2im`)."""
    if not same_dtype(FLOATS, dcols, grad_input):
        reference("nnframe_conv.kernels", "col2im")(dcols, grad_input, stride=stride,
                                                     dilation=dilation)
        return
    _col2im(dcols, grad_input, stride[0], stride[1], dilation[0], dilation[1])
