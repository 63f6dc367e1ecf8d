"""Mean squared error: the mean of (y_pred - y_true)**2 over every element of the batch."""

from __future__ import annotations

import attrs
import numpy as np

from nnframe.contracts import Loss, Shape
from nnframe.losses.targets import as_prediction_dtype, check_same_shape


@attrs.define(eq=False)
class MeanSquaredError(Loss):
    """Mean squared error over all outputs: mean((y_pred - y_true)**2)."""

    _diff: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def forward(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        diff = np.subtract(y_pred, as_prediction_dtype(y_true, y_pred))
        self._diff = diff
        return float(np.vdot(diff, diff)) / diff.size

    def backward(self) -> np.ndarray:
        diff = self._diff
        return diff * (2.0 / diff.size)

    def check_targets(self, y_true: np.ndarray, output_shape: Shape) -> None:
        check_same_shape("mse", y_true, output_shape)
