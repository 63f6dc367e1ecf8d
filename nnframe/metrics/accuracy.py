"""Accuracy and top-k accuracy: the fraction of samples whose class is predicted."""

from __future__ import annotations

from typing import ClassVar

import attrs
import numpy as np

from nnframe.checks.arguments import positive_int, to_int
from nnframe.errors import DataError
from nnframe.metrics.base import ClassificationMetric


@attrs.define(eq=False)
class Accuracy(ClassificationMetric):
    """Accuracy: the fraction of samples whose predicted class is the target class."""

    _correct: int = attrs.field(init=False, default=0, repr=False)
    _seen: int = attrs.field(init=False, default=0, repr=False)

    def reset(self) -> None:
        self._correct = self._seen = 0

    def update(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        if self.reader is None:
            self.prepare(y_pred.shape[1:])
        self._correct += self.reader.correct(y_true, y_pred)
        self._seen += len(y_pred)

    def result(self) -> float:
        return self._correct / self._seen if self._seen else 0.0


@attrs.define(eq=False)
class TopKAccuracy(ClassificationMetric):
    """Top-k accuracy: the fraction of samples whose target class is among the k largest
    outputs (``top_5_accuracy`` in logs for k = 5)."""

    check_hints: ClassVar[dict] = {"config": {"k": 2}}

    k: int = attrs.field(default=5, converter=to_int, validator=positive_int)
    _correct: int = attrs.field(init=False, default=0, repr=False)
    _seen: int = attrs.field(init=False, default=0, repr=False)

    @property
    def name(self) -> str:
        return f"top_{self.k}_accuracy"

    def reset(self) -> None:
        self._correct = self._seen = 0

    def update(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        labels, _ = self._read(y_true, y_pred)
        scores = y_pred.reshape(len(y_pred), -1)
        if scores.shape[1] < 2:
            raise DataError(f"{self.name} needs several outputs (one per class), got one")
        k = min(self.k, scores.shape[1])
        # the target is in the top k when fewer than k classes score strictly higher
        target_scores = scores[np.arange(len(scores)), labels][:, None]
        higher = np.count_nonzero(scores > target_scores, axis=1)
        self._correct += int(np.count_nonzero(higher < k))
        self._seen += len(labels)

    def result(self) -> float:
        return self._correct / self._seen if self._seen else 0.0
