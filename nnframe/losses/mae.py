"""Mean absolute error: the mean of |y_pred - y_true| over every element of the batch."""

from __future__ import annotations

import attrs
import numpy as np

from nnframe.contracts import Loss, Shape
from nnframe.losses.targets import as_prediction_dtype, check_same_shape


@attrs.define(eq=False)
class MeanAbsoluteError(Loss):
    """Mean absolute error over all outputs: mean(|y_pred - y_true|)."""

    _diff: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def forward(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        diff = np.subtract(y_pred, as_prediction_dtype(y_true, y_pred))
        self._diff = diff
        return float(np.mean(np.abs(diff), dtype=np.float64))

    def backward(self) -> np.ndarray:
        grad = np.sign(self._diff)
        grad *= 1.0 / grad.size
        return grad

    def check_targets(self, y_true: np.ndarray, output_shape: Shape) -> None:
        check_same_shape("mae", y_true, output_shape)
