"""The conv layers' named kernels (`nnframe.kernel`): their NumPy references, and the
arrays the kit checks a faster version on.

``maxpool2d_backward`` routes each window's gradient to its arg-max, ``im2col`` copies
every window of the image into the conv's window matrix and ``col2im`` adds that matrix's
gradient back onto the image. Each takes a (part of a) batch of padded channels-last
images and the window geometry as keywords (``stride`` and ``dilation`` pairs; the pool
is ``pool``, im2col and col2im read the kernel size from their matrix), writes its
output array whole and returns None, so that a layer can hand each thread a
slice of the batch. The layers call whichever version `nnframe.kernel` chose, once per
forward or backward; `nnframe_conv.plugin` declares the `KernelSpec` of each.
"""

from __future__ import annotations

import numpy as np

from nnframe_conv.kernel_cases import COL2IM_CASES, IM2COL_CASES, POOL_CASES
from nnframe_conv.pooling import Pool2D
from nnframe_conv.windows import Axis, Pair, window_view

# -- the references ----------------------------------------------------------------------


def maxpool2d_backward(x: np.ndarray, y: np.ndarray, grad_output: np.ndarray,
                       grad_input: np.ndarray, *, pool: Pair, stride: Pair,
                       dilation: Pair) -> None:
    """Each window's gradient to its arg-max cell: ``x`` the padded input (N, H, W, C),
    ``y`` its max-pool (N, H', W', C), ``grad_output`` dE/dy; ``grad_input`` (as ``x``)
    is overwritten with dE/dx. On ties the first position in row-major order wins (as in
    PyTorch); a window with no cell equal to its max (NaN) routes to its last cell."""
    rows = Axis(x.shape[1], pool[0], stride[0], y.shape[1], dilation=dilation[0])
    cols = Axis(x.shape[2], pool[1], stride[1], y.shape[2], dilation=dilation[1])
    if not Pool2D.tiles(rows, cols):  # tiled, every cell is written exactly once below
        grad_input.fill(0.0)
    overlapping = Pool2D.overlapping(rows, cols)
    views = Pool2D.positions(x, rows, cols)
    targets = Pool2D.positions(grad_input, rows, cols)
    # ``free``: windows whose arg-max is not found yet. Position k wins where it equals
    # the max and no earlier position did; the last position takes what is left, so
    # each window routes its gradient to exactly one cell.
    free = np.ones(y.shape, bool)
    hit = np.empty(y.shape, bool)
    for k, (view, target) in enumerate(zip(views, targets, strict=True)):
        if k == len(views) - 1:
            hit = free
        else:
            np.equal(view, y, out=hit)
            hit &= free
            np.greater(free, hit, out=free)  # free and not hit
        if overlapping:
            target += grad_output * hit
        else:
            np.multiply(grad_output, hit, out=target)


def im2col(padded: np.ndarray, patches: np.ndarray, *, stride: Pair,
           dilation: Pair) -> None:
    """The window matrix of a padded batch ``padded`` (N, H, W, C): ``patches`` is
    overwritten with every window's cells, laid out (kh, kw, N, H', W') for one channel
    (each window position is then whole image rows, where the other layout would copy
    one element at a time) and (N, H', W', kh, kw, C) for more: one copy of the strided
    view of all windows (`window_view`)."""
    one_channel = patches.ndim == 5
    kh, kw = patches.shape[:2] if one_channel else patches.shape[3:5]
    out_h, out_w = patches.shape[3:5] if one_channel else patches.shape[1:3]
    rows = Axis(padded.shape[1], kh, stride[0], out_h, dilation=dilation[0])
    cols = Axis(padded.shape[2], kw, stride[1], out_w, dilation=dilation[1])
    windows = window_view(padded, rows, cols)  # (N, H', W', C, kh, kw)
    if one_channel:
        np.copyto(patches, windows[:, :, :, 0].transpose(3, 4, 0, 1, 2))
    else:
        np.copyto(patches, windows.transpose(0, 1, 2, 4, 5, 3))


def col2im(dcols: np.ndarray, grad_input: np.ndarray, *, stride: Pair,
           dilation: Pair) -> None:
    """The gradient of the window matrix, ``dcols`` (kh, kw, N, H', W', C), added back
    onto the padded image: ``grad_input`` (N, H, W, C) is overwritten with the sum over
    window positions (i, j), in that order, of each position's strided slice."""
    kh, kw, _, out_h, out_w, _ = dcols.shape
    rows = Axis(grad_input.shape[1], kh, stride[0], out_h, dilation=dilation[0])
    cols = Axis(grad_input.shape[2], kw, stride[1], out_w, dilation=dilation[1])
    grad_input.fill(0.0)
    for i in range(kh):
        for j in range(kw):
            grad_input[:, rows.window(i), cols.window(j)] += dcols[i, j]


# -- the kit's cases: (positional arrays, keywords) of each -----------------------------


def _out(size: int, kernel: int, stride: int, dilation: int) -> int:
    return (size - dilation * (kernel - 1) - 1) // stride + 1


def pool_arguments(label: str, rng: np.random.Generator, dtype: np.dtype
                   ) -> tuple[list[np.ndarray], dict]:
    """The kit's arrays for the `POOL_CASES` case ``label`` (`KernelCase.make`)."""
    n, height, width, channels, pool, stride, dilation, ties = POOL_CASES[label]
    x = (rng.integers(0, 3, (n, height, width, channels)) if ties
         else rng.standard_normal((n, height, width, channels))).astype(dtype)
    rows = Axis(height, pool[0], stride[0], _out(height, pool[0], stride[0], dilation[0]),
                dilation=dilation[0])
    cols = Axis(width, pool[1], stride[1], _out(width, pool[1], stride[1], dilation[1]),
                dilation=dilation[1])
    y = np.ascontiguousarray(window_view(x, rows, cols).max(axis=(4, 5)))
    grad_output = rng.standard_normal(y.shape).astype(dtype)
    grad_input = np.full(x.shape, np.nan, dtype)  # a kernel must write every cell
    return [x, y, grad_output, grad_input], {"pool": pool, "stride": stride,
                                             "dilation": dilation}


def col2im_arguments(label: str, rng: np.random.Generator, dtype: np.dtype
                     ) -> tuple[list[np.ndarray], dict]:
    """The kit's arrays for the `COL2IM_CASES` case ``label`` (`KernelCase.make`)."""
    n, height, width, channels, kernel, stride, dilation = COL2IM_CASES[label]
    out_h = _out(height, kernel[0], stride[0], dilation[0])
    out_w = _out(width, kernel[1], stride[1], dilation[1])
    dcols = rng.standard_normal((*kernel, n, out_h, out_w, channels)).astype(dtype)
    grad_input = np.full((n, height, width, channels), np.nan, dtype)
    return [dcols, grad_input], {"stride": stride, "dilation": dilation}


def im2col_arguments(label: str, rng: np.random.Generator, dtype: np.dtype
                     ) -> tuple[list[np.ndarray], dict]:
    """The kit's arrays for the `IM2COL_CASES` case ``label`` (`KernelCase.make`)."""
    n, height, width, channels, kernel, stride, dilation = IM2COL_CASES[label]
    out_h = _out(height, kernel[0], stride[0], dilation[0])
    out_w = _out(width, kernel[1], stride[1], dilation[1])
    padded = rng.standard_normal((n, height, width, channels)).astype(dtype)
    shape = ((*kernel, n, out_h, out_w) if channels == 1
             else (n, out_h, out_w, *kernel, channels))
    patches = np.full(shape, np.nan, dtype)  # a kernel must write every cell
    return [padded, patches], {"stride": stride, "dilation": dilation}
