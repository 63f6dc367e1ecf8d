"""Huber loss: quadratic for small errors, linear for large ones (``torch.nn.HuberLoss``)."""

from __future__ import annotations

import attrs
import numpy as np

from nnframe.arguments import positive_float, to_float
from nnframe.contracts import Loss, Shape
from nnframe.losses.targets import as_prediction_dtype, check_same_shape


@attrs.define(eq=False)
class Huber(Loss):
    """Huber loss: 0.5 d**2 where |d| <= delta, else delta * (|d| - 0.5 delta); the mean."""

    delta: float = attrs.field(default=1.0, converter=to_float, validator=positive_float)
    _diff: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def forward(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        diff = np.subtract(y_pred, as_prediction_dtype(y_true, y_pred))
        self._diff = diff
        size = np.abs(diff)
        quadratic = np.minimum(size, self.delta)
        # 0.5 q**2 + delta * (|d| - q) equals both branches of the definition
        values = 0.5 * quadratic * quadratic + self.delta * (size - quadratic)
        return float(np.mean(values, dtype=np.float64))

    def backward(self) -> np.ndarray:
        grad = np.clip(self._diff, -self.delta, self.delta)
        grad *= 1.0 / grad.size
        return grad

    def check_targets(self, y_true: np.ndarray, output_shape: Shape) -> None:
        check_same_shape("huber", y_true, output_shape)
