"""Geometry shared by the convolution and pooling layers: argument pairs, output sizes,
padding, the strided slice that picks one window position, and reusable work buffers.

Images are channels-last, (N, H, W, C); the helpers work on the (H, W) axes only.
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import Any

import attrs
import numpy as np
from numpy.lib.stride_tricks import as_strided

import nnframe

Pair = tuple[int, int]


def to_pair(value: Any) -> Any:
    """``3`` -> ``(3, 3)``; a pair of integers -> a tuple of Python ints; else unchanged
    (the validator then says what is wrong)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value), int(value))
    if (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value)):
        return (int(value[0]), int(value[1]))
    return value


def to_optional_pair(value: Any) -> Any:
    return None if value is None else to_pair(value)


def positive_pair(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """attrs validator: a pair of positive integers (given as one int or two)."""
    if not (isinstance(value, tuple) and len(value) == 2
            and all(isinstance(v, int) and v > 0 for v in value)):
        shown = value[0] if isinstance(value, tuple) and len(set(value)) == 1 else value
        raise nnframe.ConfigError(
            f"{instance.layer_name}: {attribute.name} must be a positive integer or a pair "
            f"of positive integers (height, width), got {shown!r}"
        )


def optional_positive_pair(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None:
        positive_pair(instance, attribute, value)


def image_shape(layer_name: str, input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(H, W, C) of one sample, or a `ShapeError` that says how to get channels-last images."""
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3:
        hint = ""
        if len(shape) == 1:
            side = math.isqrt(shape[0])
            example = (f", e.g. x.reshape(-1, {side}, {side}, 1)"
                       if side * side == shape[0] else "")
            hint = f"; reshape flat samples to (N, H, W, C){example}"
        elif len(shape) == 2:
            hint = "; add a channel axis: reshape to (N, H, W, C), e.g. x[..., None]"
        raise nnframe.ShapeError(
            f"{layer_name} expects channels-last images, a batch shaped (N, H, W, C), so "
            f"samples of shape (H, W, C); got samples of shape {shape}{hint}"
        )
    return shape  # type: ignore[return-value]


def batch_shape(layer_name: str, x: np.ndarray) -> tuple[int, int, int, int]:
    """(N, H, W, C) of a batch given to ``forward``, checked."""
    if x.ndim != 4:
        if x.ndim == 3:
            raise nnframe.ShapeError(
                f"{layer_name} expects a batch shaped (N, H, W, C), got an array of shape "
                f"{x.shape}; for one image use x[None], for grey images without a channel "
                "axis use x[..., None]"
            )
        raise nnframe.ShapeError(
            f"{layer_name} expects a batch shaped (N, H, W, C), got an array of shape "
            f"{x.shape}; reshape to (N, H, W, C), e.g. x.reshape(len(x), 28, 28, 1)"
        )
    return x.shape  # type: ignore[return-value]


@attrs.frozen
class Axis:
    """How a window of ``kernel`` cells slides along one image axis of ``size`` cells."""

    size: int
    kernel: int
    stride: int
    out: int
    pad_before: int = 0
    pad_after: int = 0

    @property
    def padded(self) -> int:
        return self.size + self.pad_before + self.pad_after

    def window(self, offset: int) -> slice:
        """The cells (of the padded axis) at ``offset`` inside every window, in order."""
        return slice(offset, offset + self.stride * (self.out - 1) + 1, self.stride)


@functools.lru_cache(maxsize=1024)
def sliding_axis(size: int, kernel: int, stride: int, padding: str = "valid") -> Axis:
    """Output length and padding of one axis, as in Keras/TensorFlow.

    ``valid``: windows inside the input only, the last partial one dropped (floor).
    ``same``: ``ceil(size / stride)`` outputs, the padding split evenly, any odd cell after.
    """
    if padding == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + kernel - size, 0)
        return Axis(size, kernel, stride, out, total // 2, total - total // 2)
    out = (size - kernel) // stride + 1 if size >= kernel else 0
    return Axis(size, kernel, stride, out)


def window_view(padded: np.ndarray, rows: Axis, cols: Axis) -> np.ndarray:
    """Every window of a padded (N, H, W, C) batch at once: a read-only view shaped
    (N, H', W', C, kernel_h, kernel_w), window (i, j) starting at cell (i * stride_h,
    j * stride_w). Nothing is copied.

    Built directly from the strides: NumPy's ``sliding_window_view`` (then a strided
    slice) gives the same view but spends about 30 us on checks per call, most of a
    conv layer's time when predicting one image.
    """
    n, _, _, channels = padded.shape
    s_n, s_h, s_w, s_c = padded.strides
    shape = (n, rows.out, cols.out, channels, rows.kernel, cols.kernel)
    strides = (s_n, s_h * rows.stride, s_w * cols.stride, s_c, s_h, s_w)
    if padded.flags.c_contiguous:  # NumPy checks the view stays inside the buffer
        view = np.ndarray(shape, padded.dtype, padded, 0, strides)
        view.flags.writeable = False
        return view
    return as_strided(padded, shape, strides, writeable=False)
