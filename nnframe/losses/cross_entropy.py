"""Cross-entropy losses that take logits: softmax (multi-class) and sigmoid (binary).

Both fuse the activation with the log-loss, shifted for stability, so that logits of
any size give finite losses and the gradient is simply ``(probabilities - targets) / N``.
"""

from __future__ import annotations

from typing import ClassVar

import attrs
import numpy as np

from nnframe.contracts import Loss, Shape
from nnframe.errors import DataError
from nnframe.losses.targets import as_prediction_dtype, check_same_shape


@attrs.define(eq=False)
class CrossEntropy(Loss):
    """Softmax cross-entropy from logits; labels as integer classes (N,) or one-hot (N, C)."""

    takes_logits: ClassVar[bool] = True
    #: `nnframe check` draws integer class labels as targets.
    check_hints: ClassVar[dict] = {"targets": "classes"}

    _probabilities: np.ndarray | None = attrs.field(init=False, default=None, repr=False)
    _labels: np.ndarray | None = attrs.field(init=False, default=None, repr=False)
    _targets: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def forward(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        n, classes = self._shape(y_pred)
        shifted = y_pred - y_pred.max(axis=-1, keepdims=True)
        exp = np.exp(shifted)
        sums = exp.sum(axis=-1, keepdims=True)
        exp /= sums
        self._probabilities = exp
        log_sums = np.log(sums)
        y_true = np.asarray(y_true)
        if y_true.ndim == 1:
            labels = self._labels_from(y_true, classes)
            rows = np.arange(n)
            picked = shifted[rows, labels] - log_sums[:, 0]
            self._labels, self._targets = labels, None
            return -float(np.sum(picked, dtype=np.float64)) / n
        if y_true.shape != y_pred.shape:
            raise DataError(f"cross_entropy: one-hot targets have width {y_true.shape[-1]} "
                            f"but the logits have width {classes}; they must match")
        targets = as_prediction_dtype(y_true, y_pred)
        self._labels, self._targets = None, targets
        log_probabilities = shifted - log_sums
        return -float(np.vdot(targets, log_probabilities)) / n

    def backward(self) -> np.ndarray:
        grad = self._probabilities.copy()
        n = len(grad)
        if self._labels is not None:
            grad[np.arange(n), self._labels] -= 1.0
        else:
            grad -= self._targets
        grad *= 1.0 / n
        return grad

    @staticmethod
    def _shape(y_pred: np.ndarray) -> tuple[int, int]:
        if y_pred.ndim != 2:
            raise DataError(f"cross_entropy expects logits of shape (N, classes), got "
                            f"{y_pred.shape}; add a flatten or dense layer before the loss")
        return y_pred.shape

    @staticmethod
    def _labels_from(y_true: np.ndarray, classes: int) -> np.ndarray:
        if y_true.dtype.kind == "f":
            if not np.all(y_true == np.round(y_true)):
                raise DataError("cross_entropy: 1-D targets must be integer class indices; "
                                "give one-hot rows for soft labels")
            y_true = y_true.astype(np.intp)
        if y_true.dtype.kind not in "iu":
            raise DataError(f"cross_entropy: labels of dtype {y_true.dtype} are not class "
                            "indices; give integers in [0, classes) or one-hot rows")
        if y_true.size and (y_true.min() < 0 or y_true.max() >= classes):
            bad = y_true[(y_true < 0) | (y_true >= classes)][0]
            raise DataError(f"cross_entropy: label {int(bad)} is out of range for "
                            f"{classes} classes; labels must lie in [0, {classes})")
        return y_true

    def check_targets(self, y_true: np.ndarray, output_shape: Shape) -> None:
        """Logits (classes,) per sample with classes >= 2; targets integer labels in range,
        or rows of class probabilities (one-hot or soft) of the same width."""
        if len(output_shape) != 1:
            raise DataError(f"cross_entropy expects logits of shape (classes,) per sample, the "
                            f"network outputs {tuple(output_shape)}; add flatten/dense layers")
        classes = output_shape[0]
        if classes < 2:
            raise DataError("cross_entropy needs one output per class (at least 2), the "
                            "network has 1; for two classes with one output unit use "
                            "binary_cross_entropy, or give the last dense layer 2 outputs")
        if y_true.ndim == 1:
            self._labels_from(y_true, classes)
        elif y_true.ndim != 2 or y_true.shape[1] != classes:
            raise DataError(f"cross_entropy: targets have shape {tuple(y_true.shape[1:])} per "
                            f"sample; give integer labels (N,) or one-hot rows of width {classes}")
        elif not _are_distributions(y_true):
            raise DataError("cross_entropy: 2-D targets must be one-hot rows or class "
                            "probabilities (each row >= 0 and summing to 1); for integer "
                            "classes give a 1-D array of labels, for several independent "
                            "0/1 targets use binary_cross_entropy")

    def probabilities(self, y_pred: np.ndarray) -> np.ndarray:
        """Softmax of the logits over the last axis."""
        return softmax(y_pred)


@attrs.define(eq=False)
class BinaryCrossEntropy(Loss):
    """Sigmoid cross-entropy from logits, for 0/1 targets: mean over every output."""

    #: The network's outputs are logits: a class is predicted where they are > 0.
    takes_logits: ClassVar[bool] = True

    _diff: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def forward(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        targets = as_prediction_dtype(y_true, y_pred).reshape(y_pred.shape)
        # log(1 + exp(z)) - y z, written as max(z, 0) - y z + log1p(exp(-|z|))
        values = np.maximum(y_pred, 0.0) - y_pred * targets
        values += np.log1p(np.exp(-np.abs(y_pred)))
        probabilities = 0.5 * (1.0 + np.tanh(0.5 * y_pred))
        self._diff = probabilities - targets
        return float(np.mean(values, dtype=np.float64))

    def backward(self) -> np.ndarray:
        grad = self._diff.copy()
        grad *= 1.0 / grad.size
        return grad

    def probabilities(self, y_pred: np.ndarray) -> np.ndarray:
        """The sigmoid of each logit: the probability of class 1 per output."""
        return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(y_pred, dtype=np.float64)))

    def check_targets(self, y_true: np.ndarray, output_shape: Shape) -> None:
        if y_true.ndim == 1 and tuple(output_shape) == (1,):
            y_true = y_true.reshape(-1, 1)
        check_same_shape("binary_cross_entropy", y_true, output_shape)
        if y_true.size and (y_true.min() < 0 or y_true.max() > 1):
            raise DataError("binary_cross_entropy: targets must lie in [0, 1], got values in "
                            f"[{y_true.min()}, {y_true.max()}]")


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis in float64, shifted by the max for stability."""
    shifted = np.asarray(logits, dtype=np.float64)
    shifted = np.exp(shifted - shifted.max(axis=-1, keepdims=True))
    shifted /= shifted.sum(axis=-1, keepdims=True)
    return shifted


def _are_distributions(rows: np.ndarray) -> bool:
    """Whether every row is >= 0 and sums to 1 (one-hot rows are)."""
    if rows.size == 0:
        return True
    sums = rows.sum(axis=1, dtype=np.float64)
    return bool((rows >= 0).all() and np.allclose(sums, 1.0, atol=1e-3))
