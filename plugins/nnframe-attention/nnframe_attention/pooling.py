"""``sequence_pool``: one vector per sequence, (N, time, F) -> (N, F), so that a classifier
can end in ``dense``: the mean over the steps, the first step or the last one.

With ``padding_mask`` the input's last channel is the mask (1 real, 0 padding), which is
consumed here: the mean is over the real steps only, ``first`` and ``last`` are the first
and last real steps. A sequence that is all padding pools to zeros.
"""

from __future__ import annotations

from typing import ClassVar

import attrs
import numpy as np

import nnframe
from nnframe.checks.arguments import one_of
from nnframe_attention.sequences import batch_shape, check_bool, sample_shape, split_mask


@attrs.define(eq=False)
class SequencePool(nnframe.Layer):
    """Pools a sequence over time: ``mode`` ``"mean"``, ``"first"`` or ``"last"``."""

    layer_name: ClassVar[str] = "sequence_pool"
    check_hints: ClassVar[dict] = {"config": {"mode": "mean"}, "input_shape": (4, 3)}

    mode: str = attrs.field(default="mean", validator=one_of("mean", "first", "last"))
    padding_mask: bool = attrs.field(default=False, validator=check_bool)
    _weights: np.ndarray | None = attrs.field(init=False, default=None, repr=False)
    _shape: tuple[int, ...] | None = attrs.field(init=False, default=None, repr=False)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        _, features = sample_shape(self.layer_name, input_shape, self.padding_mask)
        return (features,)

    def parameter_shapes(self, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        """No parameters."""
        return {}

    def _step_weights(self, n: int, time: int, keep: np.ndarray | None,
                      dtype: np.dtype) -> np.ndarray:
        """(N, time): how much each step counts in its sequence's output."""
        if keep is None:
            weights = np.zeros((n, time), dtype)
            if self.mode == "mean":
                weights[...] = 1.0 / time
            else:
                weights[:, 0 if self.mode == "first" else -1] = 1.0
            return weights
        if self.mode == "mean":
            weights = keep.astype(dtype)
            weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1.0)
            return weights
        if self.mode == "first":
            index = keep.argmax(axis=1)
        else:
            index = time - 1 - keep[:, ::-1].argmax(axis=1)
        weights = np.zeros((n, time), dtype)
        weights[np.arange(n), index] = keep[np.arange(n), index]
        return weights

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        n, time, _ = batch_shape(self.layer_name, x)
        sample_shape(self.layer_name, x.shape[1:], self.padding_mask)
        values, keep = split_mask(x, self.padding_mask)
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
        if keep is None and self.mode != "mean":
            y = values[:, 0 if self.mode == "first" else -1].copy()
            weights = None
        else:
            weights = self._step_weights(n, time, keep, dtype)
            y = np.matmul(weights[:, None, :], values)[:, 0]
        if training:
            self._weights = weights if weights is not None else \
                self._step_weights(n, time, None, dtype)
            self._shape = x.shape
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._weights is None or self._shape is None:
            raise RuntimeError("SequencePool.backward called before forward(x, training=True)")
        grad = np.zeros(self._shape, grad_output.dtype)
        features = grad_output.shape[-1]
        np.multiply(self._weights[:, :, None], grad_output[:, None, :],
                    out=grad[..., :features])
        return grad
