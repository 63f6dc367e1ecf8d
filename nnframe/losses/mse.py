"""Mean squared error: the mean of (y_pred - y_true)**2 over every element of the batch."""

from __future__ import annotations

import attrs
import numpy as np

from nnframe.contracts import Loss, Shape
from nnframe.errors import DataError


@attrs.define(eq=False)
class MeanSquaredError(Loss):
    """Mean squared error over all outputs: mean((y_pred - y_true)**2)."""

    _diff: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def forward(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        diff = np.subtract(y_pred, np.asarray(y_true, dtype=y_pred.dtype))
        self._diff = diff
        return float(np.vdot(diff, diff)) / diff.size

    def backward(self) -> np.ndarray:
        diff = self._diff
        return diff * (2.0 / diff.size)

    def check_targets(self, y_true: np.ndarray, output_shape: Shape) -> None:
        if tuple(y_true.shape[1:]) != tuple(output_shape):
            hint = ""
            if y_true.ndim == 1 and len(output_shape) == 1 and output_shape[0] > 1:
                hint = (
                    f"; for class labels give one-hot targets of width {output_shape[0]} "
                    "(nnframe.one_hot) or use the cross_entropy loss"
                )
            raise DataError(
                f"mse: targets have shape {tuple(y_true.shape[1:])} per sample but the "
                f"network outputs {tuple(output_shape)}{hint}"
            )
