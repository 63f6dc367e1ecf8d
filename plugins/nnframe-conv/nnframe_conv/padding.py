"""Padding modes other than zeros, as PyTorch's ``padding_mode``: ``reflect`` (mirror
without repeating the edge), ``replicate`` (repeat the edge) and ``circular`` (wrap
around).

Each padded cell is a copy of one input cell; which one is the same along every row, so
one index array per axis (``np.pad`` of ``arange(size)`` in NumPy's matching mode) says
it. Forward gathers with it; backward adds each padding cell's gradient back onto its
source, one slice per padding cell (a few per axis, never a loop over pixels).
"""

from __future__ import annotations

import functools

import numpy as np

import nnframe
from nnframe_conv.windows import Axis

#: PyTorch's name -> NumPy's np.pad mode; "zeros" pads with zeros (no index array).
PADDING_MODES = {"zeros": None, "reflect": "reflect", "replicate": "edge",
                 "circular": "wrap"}


@functools.lru_cache(maxsize=256)
def sources(size: int, before: int, after: int, mode: str) -> np.ndarray:
    """For every cell of the padded axis, the input cell it copies."""
    return np.pad(np.arange(size), (before, after), mode=PADDING_MODES[mode])


def check_fits(layer_name: str, mode: str, axis: Axis, which: str) -> None:
    """PyTorch's limits: reflect pads fewer cells than the axis has, circular at most as
    many (a wider pad would need cells that are not there)."""
    widest = max(axis.pad_before, axis.pad_after)
    if (mode == "reflect" and widest >= axis.size) or (mode == "circular"
                                                       and widest > axis.size):
        limit = "fewer than" if mode == "reflect" else "at most"
        raise nnframe.ShapeError(
            f"{layer_name}: padding_mode={mode!r} pads {widest} cells on the {which} of a "
            f"{axis.size}-cell input; it can pad {limit} {axis.size}: use smaller padding, "
            "a larger input, or padding_mode='zeros'")


def pad(x: np.ndarray, rows: Axis, cols: Axis, mode: str) -> np.ndarray:
    """(N, H, W, C) -> (N, H + pads, W + pads, C), padded in ``mode``."""
    rows_from = sources(rows.size, rows.pad_before, rows.pad_after, mode)
    cols_from = sources(cols.size, cols.pad_before, cols.pad_after, mode)
    return x[:, rows_from][:, :, cols_from]


def _fold_axis(grad: np.ndarray, axis: int, source: np.ndarray, before: int,
               size: int) -> np.ndarray:
    """The gradient of one padded axis folded back onto the input's cells."""
    inside = [slice(None)] * grad.ndim
    inside[axis] = slice(before, before + size)
    folded = grad[tuple(inside)].copy()
    for cell in (*range(before), *range(before + size, grad.shape[axis])):
        target, taken = [slice(None)] * grad.ndim, [slice(None)] * grad.ndim
        target[axis], taken[axis] = int(source[cell]), cell
        folded[tuple(target)] += grad[tuple(taken)]
    return folded


def fold(grad: np.ndarray, rows: Axis, cols: Axis, mode: str) -> np.ndarray:
    """dE/dX of `pad`: the padded gradient (N, Hp, Wp, C) summed back onto (N, H, W, C)."""
    rows_from = sources(rows.size, rows.pad_before, rows.pad_after, mode)
    cols_from = sources(cols.size, cols.pad_before, cols.pad_after, mode)
    grad = _fold_axis(grad, 1, rows_from, rows.pad_before, rows.size)
    return _fold_axis(grad, 2, cols_from, cols.pad_before, cols.size)
