"""Grouped convolution (PyTorch's ``groups``), depthwise included, as batched matmuls.

The C input channels split into G groups of C / G, the F filters into G groups of F / G;
filter group g sees channel group g only. The window matrix is built group first,
(G, pixels, kernel_h * kernel_w * C / G), and the weights (kernel_h, kernel_w, C / G, F)
are seen as (G, kernel_h * kernel_w * C / G, F / G): every product of the ungrouped layer
becomes one matmul batched over the groups.
"""

from __future__ import annotations

import numpy as np

from nnframe.speed.workspace import Workspace
from nnframe_conv.windows import Axis, window_view


def _by_group(weights: np.ndarray, groups: int) -> np.ndarray:
    """(kh, kw, C / G, F) -> (G, kh * kw * C / G, F / G), a view where it can be."""
    rows = weights.shape[0] * weights.shape[1] * weights.shape[2]
    filters = weights.shape[3]
    return weights.reshape(rows, groups, filters // groups).transpose(1, 0, 2)


def im2col(padded: np.ndarray, rows: Axis, cols: Axis, groups: int,
           buffers: Workspace) -> np.ndarray:
    """The window matrix per group: (G, N * H' * W', kh * kw * C / G), its columns in
    the weights' (kernel_h, kernel_w, C / G) order."""
    n, _, _, channels = padded.shape
    per_group = channels // groups
    windows = window_view(padded, rows, cols)  # (N, H', W', C, kh, kw)
    windows = windows.reshape(n, rows.out, cols.out, groups, per_group, rows.kernel,
                              cols.kernel)
    shape = (groups, n, rows.out, cols.out, rows.kernel, cols.kernel, per_group)
    patches = buffers.get("cols", shape, padded.dtype)
    np.copyto(patches, windows.transpose(3, 0, 1, 2, 5, 6, 4))
    return patches.reshape(groups, n * rows.out * cols.out,
                           rows.kernel * cols.kernel * per_group)


def product(matrix: np.ndarray, weights: np.ndarray, groups: int) -> np.ndarray:
    """``y`` (pixels, F): each group's windows times its filters, side by side."""
    y = np.matmul(matrix, _by_group(weights, groups))  # (G, pixels, F / G)
    return np.ascontiguousarray(y.transpose(1, 0, 2)).reshape(matrix.shape[1],
                                                              weights.shape[3])


def _grad_by_group(grad: np.ndarray, groups: int) -> np.ndarray:
    """dE/dY (pixels, F) as (G, pixels, F / G)."""
    return grad.reshape(grad.shape[0], groups, grad.shape[1] // groups).transpose(1, 0, 2)


def weight_grads(matrix: np.ndarray, grad: np.ndarray, out: np.ndarray, groups: int) -> None:
    """dE/dW into ``out`` (kh, kw, C / G, F), in place."""
    by_group = np.matmul(matrix.transpose(0, 2, 1), _grad_by_group(grad, groups))
    _by_group(out, groups)[...] = by_group


def col2im(grad: np.ndarray, weights: np.ndarray, rows: Axis, cols: Axis, groups: int,
           n: int, channels: int) -> np.ndarray:
    """dE/d(padded input), (N, Hp, Wp, C): every window's gradient added onto its cells,
    one strided slice-add per kernel tap."""
    kh, kw, per_group, _ = weights.shape
    dcols = np.matmul(_grad_by_group(grad, groups), _by_group(weights, groups).transpose(0, 2, 1))
    dcols = dcols.reshape(groups, n, rows.out, cols.out, kh, kw, per_group)
    grad_input = np.zeros((n, rows.padded, cols.padded, groups, per_group), grad.dtype)
    for i in range(kh):
        for j in range(kw):
            grad_input[:, rows.window(i), cols.window(j)] += \
                dcols[:, :, :, :, i, j].transpose(1, 2, 3, 0, 4)
    return grad_input.reshape(n, rows.padded, cols.padded, channels)
