"""Geometry shared by the convolution and pooling layers: argument pairs, output sizes,
padding (Keras' "valid" and "same", or PyTorch's explicit cells per side), dilation, and
the strided slice that picks one window position.

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


def to_padding(value: Any) -> Any:
    """``"same"``/``"valid"`` stay; an int or a pair of ints -> a (height, width) pair."""
    return value if isinstance(value, str) else to_pair(value)


def check_padding(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """attrs validator: ``"valid"``, ``"same"`` or cells per side (an int or a pair)."""
    if value in ("valid", "same"):
        return
    if not (isinstance(value, tuple) and len(value) == 2
            and all(isinstance(v, int) and v >= 0 for v in value)):
        raise nnframe.ConfigError(
            f"{instance.layer_name}: {attribute.name} must be 'valid' (no padding), 'same' "
            "(output size = ceil(input size / stride)), or the cells padded on each side as "
            f"an integer or a (height, width) pair of integers >= 0 (PyTorch's), got {value!r}"
        )


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
    #: cells from one kernel tap to the next (PyTorch's ``dilation``)
    dilation: int = 1

    @property
    def span(self) -> int:
        """Cells one window covers, from its first tap to its last."""
        return self.dilation * (self.kernel - 1) + 1

    @property
    def padded(self) -> int:
        return self.size + self.pad_before + self.pad_after

    def window(self, offset: int) -> slice:
        """The cells (of the padded axis) at tap ``offset`` of every window, in order."""
        start = offset * self.dilation
        return slice(start, start + self.stride * (self.out - 1) + 1, self.stride)


@functools.lru_cache(maxsize=1024)
def sliding_axis(size: int, kernel: int, stride: int, padding: str | int = "valid",
                 dilation: int = 1) -> Axis:
    """Output length and padding of one axis.

    ``valid``: windows inside the input only, the last partial one dropped (floor).
    ``same``: ``ceil(size / stride)`` outputs, the padding split evenly, any odd cell after
    (as in Keras/TensorFlow). An int: that many cells on each side, then floor (PyTorch).
    A window of a dilated kernel spans ``dilation * (kernel - 1) + 1`` cells.
    """
    span = dilation * (kernel - 1) + 1
    if padding == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + span - size, 0)
        return Axis(size, kernel, stride, out, total // 2, total - total // 2, dilation)
    pad = 0 if padding == "valid" else int(padding)
    padded = size + 2 * pad
    out = (padded - span) // stride + 1 if padded >= span else 0
    return Axis(size, kernel, stride, out, pad, pad, dilation)


def axes(height: int, width: int, kernel: Pair, stride: Pair, padding: Any,
         dilation: Pair = (1, 1)) -> tuple[Axis, Axis]:
    """The (rows, columns) geometry, for padding as a layer stores it (str or pair)."""
    pads = (padding, padding) if isinstance(padding, str) else padding
    return (sliding_axis(height, kernel[0], stride[0], pads[0], dilation[0]),
            sliding_axis(width, kernel[1], stride[1], pads[1], dilation[1]))


def window_view(padded: np.ndarray, rows: Axis, cols: Axis) -> np.ndarray:
    """Every window of a padded (N, H, W, C) batch at once: a read-only view shaped
    (N, H', W', C, kernel_h, kernel_w), window (i, j) starting at cell (i * stride_h,
    j * stride_w), its taps ``dilation`` cells apart. Nothing is copied.

    Built directly from the strides: NumPy's ``sliding_window_view`` (then a strided
    slice) gives the same view but spends about 30 us on checks per call, most of a
    conv layer's time when predicting one image.
    """
    n, _, _, channels = padded.shape
    s_n, s_h, s_w, s_c = padded.strides
    shape = (n, rows.out, cols.out, channels, rows.kernel, cols.kernel)
    strides = (s_n, s_h * rows.stride, s_w * cols.stride, s_c, s_h * rows.dilation,
               s_w * cols.dilation)
    if padded.flags.c_contiguous:  # NumPy checks the view stays inside the buffer
        view = np.ndarray(shape, padded.dtype, padded, 0, strides)
        view.flags.writeable = False
        return view
    return as_strided(padded, shape, strides, writeable=False)
