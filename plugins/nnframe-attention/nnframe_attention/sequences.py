"""Sequence shapes, the padding-mask channel, and the arguments the layers share.

A batch of sequences is (N, time, features). A padding mask travels *as data*: a layer
given ``padding_mask=True`` reads the last channel of its input as the mask, 1 for a real
step and 0 for padding (a value above 0.5 counts as real), and passes that channel on
unchanged after its own features, so the next masked layer sees it too; `sequence_pool`
consumes it. The mask is thus part of the input array, which a TOML config's data, a
model file and an exported ONNX graph all carry without any second input.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

import nnframe

EXPECTED = "sequences, a batch shaped (N, time, features)"


def check_bool(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """attrs validator: true or false, never a truthy string."""
    if not isinstance(value, (bool, np.bool_)):
        raise nnframe.ConfigError(
            f"{type(instance).layer_name}: {attribute.name} must be true or false, got "
            f"{value!r}")


def sample_shape(layer_name: str, input_shape: tuple[int, ...], padding_mask: bool
                 ) -> tuple[int, int]:
    """(time, features) of one sample, the mask channel not counted; or a `ShapeError`."""
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 2:
        hint = ""
        if len(shape) == 1:
            hint = ("; after an embedding of token indices the samples are (time, features): "
                    "give it samples of shape (time,)")
        elif len(shape) == 3:
            hint = (f"; to read images row by row reshape to (N, {shape[0]}, "
                    f"{shape[1] * shape[2]}) (in a config: [data] reshape = [{shape[0]}, "
                    f"{shape[1] * shape[2]}])")
        raise nnframe.ShapeError(f"{layer_name} expects {EXPECTED}, so samples of shape "
                                 f"(time, features); got samples of shape {shape}{hint}")
    time, features = shape
    if padding_mask:
        features -= 1
    if time < 1 or features < 1:
        mask = " plus the mask channel" if padding_mask else ""
        raise nnframe.ShapeError(f"{layer_name} needs at least one time step and one "
                                 f"feature{mask}; got samples of shape {shape}")
    return time, features


def batch_shape(layer_name: str, x: np.ndarray) -> tuple[int, int, int]:
    """(N, time, channels) of a batch given to ``forward``, checked."""
    if x.ndim != 3:
        hint = "; for a single sequence add the batch axis, x[None]" if x.ndim == 2 else ""
        raise nnframe.ShapeError(f"{layer_name} expects {EXPECTED}; got an array of shape "
                                 f"{x.shape}{hint}")
    return x.shape  # type: ignore[return-value]


def split_mask(x: np.ndarray, padding_mask: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """(features, keep): the features and, with a mask channel, a boolean (N, time) array
    that is true for real steps."""
    if not padding_mask:
        return x, None
    return x[..., :-1], x[..., -1] > 0.5


def with_mask(y: np.ndarray, x: np.ndarray, padding_mask: bool) -> np.ndarray:
    """``y`` with the input's mask channel appended again (when there is one)."""
    if not padding_mask:
        return y
    return np.concatenate([y, x[..., -1:].astype(y.dtype, copy=False)], axis=-1)


def grad_with_mask(grad: np.ndarray, grad_output: np.ndarray, padding_mask: bool
                   ) -> np.ndarray:
    """dE/dX for an input with a mask channel: the layer passes that channel through, so
    its gradient is the output's (the threshold inside has derivative zero)."""
    if not padding_mask:
        return grad
    return np.concatenate([grad, grad_output[..., -1:]], axis=-1)
