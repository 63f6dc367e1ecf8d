"""Reading class labels off targets and class predictions off a network's outputs."""

from __future__ import annotations

import attrs
import numpy as np

from nnframe.core.contracts import Shape


@attrs.frozen
class ClassReader:
    """How targets and outputs of one classifier become class indices.

    ``threshold`` is None for several outputs (the class is the argmax); for a single
    output it is where class 1 starts: 0.5 for probabilities, 0.0 for logits (a loss that
    takes logits) and for tanh outputs with targets -1/1. ``target_threshold`` splits
    single-output targets the same way (0.5 for 0/1 targets, 0.0 for -1/1).
    """

    classes: int
    threshold: float | None = None
    target_threshold: float | None = None

    def labels(self, y_true: np.ndarray) -> np.ndarray:
        """Class indices of targets: integer labels as they are, one-hot rows by argmax."""
        y_true = np.asarray(y_true)
        if self.threshold is None:
            if y_true.ndim == 1:
                return y_true.astype(np.intp, copy=False)
            return y_true.reshape(len(y_true), -1).argmax(axis=1)
        return (y_true.reshape(len(y_true), -1)[:, 0] > self.target_threshold).astype(np.intp)

    def predicted(self, y_pred: np.ndarray) -> np.ndarray:
        """Predicted class indices of a batch of outputs."""
        if self.threshold is None:
            return y_pred.reshape(len(y_pred), -1).argmax(axis=1)
        return (y_pred.reshape(len(y_pred), -1)[:, 0] > self.threshold).astype(np.intp)

    def correct(self, y_true: np.ndarray, y_pred: np.ndarray) -> int:
        """How many predictions of the batch match their targets (every batch of training:
        kept to a few NumPy calls)."""
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if self.threshold is None and y_pred.ndim == 2 and y_true.ndim <= 2:
            labels = y_true if y_true.ndim == 1 else y_true.argmax(axis=1)
            return int((y_pred.argmax(axis=1) == labels).sum())
        return int(np.count_nonzero(self.predicted(y_pred) == self.labels(y_true)))


def class_reader(y: np.ndarray, output_shape: Shape, logits: bool = False
                 ) -> ClassReader | None:
    """A `ClassReader` when ``y`` (a whole set of targets) are classification targets for
    outputs of ``output_shape``, else None.

    Several outputs: integer labels (N,) or one-hot rows (N, outputs). One output: targets
    that are all 0 or 1 (read at 0.5, or at 0 when the loss takes logits) or all -1 or 1
    (read at 0).
    """
    y = np.asarray(y)
    width = int(np.prod(output_shape)) if len(output_shape) else 1
    if len(output_shape) == 1 and width > 1:
        if y.ndim == 1 and y.dtype.kind in "iub":
            return ClassReader(width)
        if y.ndim == 2 and y.shape[1] == width and is_one_hot(y):
            return ClassReader(width)
        return None
    if width == 1 and len(y):
        values = np.unique(y)
        if values.size <= 2 and np.isin(values, (0, 1)).all():
            return ClassReader(2, 0.0 if logits else 0.5, 0.5)
        if values.size <= 2 and np.isin(values, (-1, 1)).all():
            return ClassReader(2, 0.0, 0.0)
    return None


def is_one_hot(y: np.ndarray) -> bool:
    """Whether every row of ``y`` is all zeros but a single one."""
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
