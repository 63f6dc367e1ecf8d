"""``sequence_cross_entropy``: softmax cross-entropy from logits at every step of a
sequence, the loss of a language model that predicts the next token at each position.

Logits (N, time, classes) with targets as integer classes (N, time), or one-hot (or
probability) rows (N, time, classes); the loss is the mean over every position of every
sample, so that it reads directly as nats per token (per character for a character
model). The softmax is shifted by the row's maximum, so any logits give a finite loss.
"""

from __future__ import annotations

from typing import ClassVar

import attrs
import numpy as np

import nnframe


def _softmax(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(probabilities, shifted logits, log of the row sums), over the last axis."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    sums = exp.sum(axis=-1, keepdims=True)
    exp /= sums
    return exp, shifted, np.log(sums)


@attrs.define(eq=False)
class SequenceCrossEntropy(nnframe.Loss):
    """Softmax cross-entropy from logits at every position: (N, ..., classes) logits,
    integer labels (N, ...) or one-hot rows (N, ..., classes); the mean over positions."""

    takes_logits: ClassVar[bool] = True
    #: `nnframe check` draws one-hot rows for logits of (time, classes) per sample.
    check_hints: ClassVar[dict] = {"targets": "one_hot", "input_shape": (3, 4)}

    _probabilities: np.ndarray | None = attrs.field(init=False, default=None, repr=False)
    _labels: np.ndarray | None = attrs.field(init=False, default=None, repr=False)
    _targets: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def forward(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        classes = y_pred.shape[-1]
        y_true = np.asarray(y_true)
        probabilities, shifted, log_sums = _softmax(y_pred)
        self._probabilities = probabilities
        positions = y_pred.size // classes
        if y_true.shape == y_pred.shape[:-1]:
            labels = self._labels_from(y_true, classes).reshape(-1)
            flat = shifted.reshape(-1, classes)
            picked = flat[np.arange(positions), labels] - log_sums.reshape(-1)
            self._labels, self._targets = labels, None
            return -float(np.sum(picked, dtype=np.float64)) / positions
        if y_true.shape != y_pred.shape:
            raise nnframe.DataError(
                f"sequence_cross_entropy: targets of shape {y_true.shape} do not match "
                f"logits of shape {y_pred.shape}; give integer labels {y_pred.shape[:-1]} "
                f"or one-hot rows {y_pred.shape}")
        targets = y_true.astype(y_pred.dtype, copy=False)
        self._labels, self._targets = None, targets
        return -float(np.vdot(targets, shifted - log_sums)) / positions

    def backward(self) -> np.ndarray:
        if self._probabilities is None:
            raise RuntimeError("SequenceCrossEntropy.backward called before forward")
        grad = self._probabilities.copy()
        classes = grad.shape[-1]
        positions = grad.size // classes
        if self._labels is not None:
            flat = grad.reshape(-1, classes)
            flat[np.arange(positions), self._labels] -= 1.0
        else:
            grad -= self._targets
        grad *= 1.0 / positions
        return grad

    @staticmethod
    def _labels_from(y_true: np.ndarray, classes: int) -> np.ndarray:
        if y_true.dtype.kind == "f":
            if not np.all(y_true == np.round(y_true)):
                raise nnframe.DataError("sequence_cross_entropy: targets without a class "
                                        "axis must be whole class indices")
            y_true = y_true.astype(np.intp)
        if y_true.dtype.kind not in "iu":
            raise nnframe.DataError(f"sequence_cross_entropy: labels of dtype {y_true.dtype} "
                                    "are not class indices")
        if y_true.size and (y_true.min() < 0 or y_true.max() >= classes):
            bad = y_true[(y_true < 0) | (y_true >= classes)][0]
            raise nnframe.DataError(f"sequence_cross_entropy: label {int(bad)} is out of "
                                    f"range for {classes} classes")
        return y_true

    def check_targets(self, y_true: np.ndarray, output_shape: tuple[int, ...]) -> None:
        """Logits (..., classes) per sample; targets labels of the other axes' shape, or
        rows of the logits' shape."""
        shape = tuple(output_shape)
        if len(shape) < 1 or shape[-1] < 2:
            raise nnframe.DataError(
                f"sequence_cross_entropy expects logits (time, classes) per sample, the "
                f"network outputs {shape}; end the network with dense(classes)")
        per_sample = tuple(y_true.shape[1:])
        if per_sample == shape[:-1]:
            self._labels_from(y_true, shape[-1])
        elif per_sample != shape:
            raise nnframe.DataError(
                f"sequence_cross_entropy: targets have shape {per_sample} per sample; give "
                f"integer labels {shape[:-1]} or one-hot rows {shape} for outputs {shape}")

    def probabilities(self, y_pred: np.ndarray) -> np.ndarray:
        """Softmax of the logits over the last axis."""
        return _softmax(y_pred)[0]
