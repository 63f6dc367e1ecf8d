"""Accuracy for classification targets, worked out once per data set, cheap per batch."""

from __future__ import annotations

import attrs
import numpy as np

from nnframe.contracts import Shape


@attrs.frozen
class ClassTargets:
    """Class labels per sample and how to read a class off the network's output.

    ``threshold`` is None for argmax over several outputs; for a single output it is
    0.5 (targets 0/1, sigmoid) or 0.0 (targets -1/1, tanh).
    """

    labels: np.ndarray = attrs.field(repr=False)
    threshold: float | None = None

    def predicted(self, y_pred: np.ndarray) -> np.ndarray:
        if self.threshold is None:
            return np.argmax(y_pred, axis=-1)
        return (y_pred.reshape(len(y_pred), -1)[:, 0] > self.threshold).astype(np.intp)

    def correct(self, y_pred: np.ndarray, labels: np.ndarray) -> int:
        """How many predictions in the batch match ``labels`` (a slice of `labels`)."""
        return int(np.count_nonzero(self.predicted(y_pred) == labels))


def class_targets(y: np.ndarray, output_shape: Shape, logits: bool = False
                  ) -> ClassTargets | None:
    """`ClassTargets` when ``y`` are classification targets for this output, else None.

    ``logits``: a single output is a logit (threshold 0), not a probability (0.5).
    """
    y = np.asarray(y)
    width = int(np.prod(output_shape)) if len(output_shape) else 1
    if len(output_shape) == 1 and width > 1:
        if y.ndim == 1 and y.dtype.kind in "iub":
            return ClassTargets(y.astype(np.intp, copy=False))
        if y.ndim == 2 and y.shape[1] == width and _is_one_hot(y):
            return ClassTargets(np.argmax(y, axis=1))
        return None
    if width == 1 and len(y):
        values = np.unique(y)
        if values.size <= 2 and np.isin(values, (0, 1)).all():
            labels = (y.reshape(len(y), -1)[:, 0] > 0.5).astype(np.intp)
            return ClassTargets(labels, 0.0 if logits else 0.5)
        if values.size <= 2 and np.isin(values, (-1, 1)).all():
            return ClassTargets((y.reshape(len(y), -1)[:, 0] > 0).astype(np.intp), 0.0)
    return None


def _is_one_hot(y: np.ndarray) -> bool:
    return bool(np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all())


def one_hot(labels: np.ndarray, num_classes: int, dtype: str = "float32") -> np.ndarray:
    """Integer class labels (N,) as one-hot rows (N, num_classes)."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"one_hot expects a 1-D array of integer labels, got {labels.dtype} "
                         f"with shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"one_hot: labels must lie in [0, {num_classes}), "
                         f"got {labels.min()}..{labels.max()}")
    out = np.zeros((labels.size, num_classes), dtype=dtype)
    out[np.arange(labels.size), labels] = 1
    return out
