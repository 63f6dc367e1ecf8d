"""Precision, recall and F1, macro-averaged over classes, from one confusion matrix."""

from __future__ import annotations

import attrs
import numpy as np

from nnframe.metrics.base import ClassificationMetric


@attrs.define(eq=False)
class _ConfusionMetric(ClassificationMetric):
    """Counts (target class, predicted class) pairs over every batch."""

    _counts: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def reset(self) -> None:
        self._counts = None

    def update(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        labels, predicted = self._read(y_true, y_pred)
        classes = self.reader.classes
        pairs = np.bincount(labels * classes + predicted, minlength=classes * classes)
        counts = pairs[: classes * classes].reshape(classes, classes)
        self._counts = counts if self._counts is None else self._counts + counts

    def _per_class(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """True positives, actual counts and predicted counts per class seen so far."""
        counts = self._counts
        return np.diag(counts), counts.sum(axis=1), counts.sum(axis=0)

    def result(self) -> float:
        if self._counts is None:
            return 0.0
        true_positives, actual, predicted = self._per_class()
        present = (actual + predicted) > 0  # classes in the targets or the predictions
        scores = self._scores(true_positives, actual, predicted)
        return float(np.mean(scores[present])) if present.any() else 0.0

    @staticmethod
    def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
        """numerator / denominator, 0 where the denominator is 0 (as scikit-learn)."""
        out = np.zeros(numerator.shape, dtype=np.float64)
        np.divide(numerator, denominator, out=out, where=denominator > 0)
        return out

    def _scores(self, tp: np.ndarray, actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
        raise NotImplementedError


@attrs.define(eq=False)
class Precision(_ConfusionMetric):
    """Precision, macro-averaged: per class, correct predictions of it over all of them."""

    def _scores(self, tp, actual, predicted):
        return self._ratio(tp, predicted)


@attrs.define(eq=False)
class Recall(_ConfusionMetric):
    """Recall, macro-averaged: per class, its samples predicted right over all of them."""

    def _scores(self, tp, actual, predicted):
        return self._ratio(tp, actual)


@attrs.define(eq=False)
class F1(_ConfusionMetric):
    """F1 score, macro-averaged: per class, the harmonic mean of precision and recall."""

    def _scores(self, tp, actual, predicted):
        return self._ratio(2 * tp, actual + predicted)
