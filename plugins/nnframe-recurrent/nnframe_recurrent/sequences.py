"""Shapes of sequences, the errors that say how to get them, and reusable work arrays.

A batch of sequences is (N, time, features), batch first like everything in nnframe; the
layers work internally on time-major (time, N, ...) arrays, so that each step is one
contiguous (N, ...) block.
"""

from __future__ import annotations

import math

import numpy as np

import nnframe

EXPECTED = "sequences, a batch shaped (N, time, features)"


def sample_shape(layer_name: str, input_shape: tuple[int, ...]) -> tuple[int, int]:
    """(time, features) of one sample, or a `ShapeError` that says how to get there."""
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 2:
        raise nnframe.ShapeError(
            f"{layer_name} expects {EXPECTED}, so samples of shape (time, features); got "
            f"samples of shape {shape}{_sample_hint(shape)}"
        )
    if shape[0] < 1 or shape[1] < 1:
        raise nnframe.ShapeError(
            f"{layer_name} needs at least one time step and one feature per step; got "
            f"samples of shape {shape} (time, features)"
        )
    return shape  # type: ignore[return-value]


def _sample_hint(shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        side = math.isqrt(shape[0])
        if side > 1 and side * side == shape[0]:
            return (f"; to read {side}x{side} images row by row, reshape to (N, {side}, "
                    f"{side}), e.g. x.reshape(len(x), {side}, {side})")
        return ("; for one value per time step add a feature axis, e.g. x[..., None]; "
                "after another recurrent layer, give that one return_sequences=True")
    if len(shape) == 3:
        height, width, channels = shape
        return (f"; to read images row by row, make each row a time step: reshape to "
                f"(N, {height}, {width * channels}), e.g. x.reshape(len(x), {height}, "
                f"{width * channels}) (in a config: [data] reshape = [{height}, "
                f"{width * channels}])")
    return ""


def batch_shape(layer_name: str, x: np.ndarray) -> tuple[int, int, int]:
    """(N, time, features) of a batch given to ``forward``, checked."""
    if x.ndim == 3:
        if x.shape[1] < 1:
            raise nnframe.ShapeError(f"{layer_name} needs at least one time step; got a "
                                     f"batch of shape {x.shape} (N, time, features)")
        return x.shape  # type: ignore[return-value]
    hint = ""
    if x.ndim == 2:
        hint = ("; for a single sequence add the batch axis, x[None]; for one value per "
                "time step add a feature axis, x[..., None]")
    elif x.ndim == 4:
        _, height, width, channels = x.shape
        hint = (f"; to read images row by row, reshape to (N, {height}, "
                f"{width * channels}), e.g. x.reshape(len(x), {height}, {width * channels})")
    raise nnframe.ShapeError(
        f"{layer_name} expects {EXPECTED}; got an array of shape {x.shape}{hint}"
    )
