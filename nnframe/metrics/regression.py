"""Regression metrics: errors between outputs and targets of the same shape."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import attrs
import numpy as np

from nnframe.core.contracts import Metric
from nnframe.errors import DataError


@attrs.define(eq=False)
class MeanAbsoluteError(Metric):
    """Mean absolute error over every output of every sample."""

    higher_is_better: ClassVar[bool] = False
    #: `nnframe check` compares it on regression targets.
    check_hints: ClassVar[dict] = {"targets": "normal"}

    _total: float = attrs.field(init=False, default=0.0, repr=False)
    _count: int = attrs.field(init=False, default=0, repr=False)

    @property
    def name(self) -> str:
        return "mae"

    def prepare(self, output_shape: tuple[int, ...], loss: Any = None,
                targets: np.ndarray | None = None) -> None:
        """Refuse, before training, targets that are not one value per output (class
        labels for a classifier's outputs): they cannot be compared with the outputs."""
        super().prepare(output_shape, loss, targets)
        if targets is None or not len(targets):
            return
        per_sample = math.prod(np.shape(targets)[1:])
        if per_sample != math.prod(output_shape):
            raise DataError(
                f"metric {self.name!r} compares every output with a target of the same "
                f"shape, but the network's outputs have shape {tuple(output_shape)} and "
                f"the targets {tuple(np.shape(targets)[1:])} per sample (class labels?); "
                "for class labels use 'accuracy', or give one-hot targets")

    def reset(self) -> None:
        self._total, self._count = 0.0, 0

    def update(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        y_true = np.asarray(y_true, dtype=y_pred.dtype).reshape(y_pred.shape)
        self._total += float(np.sum(np.abs(y_pred - y_true), dtype=np.float64))
        self._count += y_pred.size

    def result(self) -> float:
        return self._total / self._count if self._count else 0.0
