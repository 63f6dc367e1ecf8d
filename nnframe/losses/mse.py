"""Mean squared error: the mean of (y_pred - y_true)**2 over every element of the batch."""

from __future__ import annotations

from typing import ClassVar

import attrs
import numpy as np

from nnframe.core.contracts import Shape
from nnframe.losses.elementwise import ElementwiseLoss
from nnframe.losses.targets import check_same_shape


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class MeanSquaredError(ElementwiseLoss):
    """Mean squared error over all outputs: mean((y_pred - y_true)**2) (torch.nn.MSELoss);
    ``reduction`` "sum" or "none" as PyTorch's."""

    loss_name: ClassVar[str] = "mse"

    def values(self, diff: np.ndarray) -> np.ndarray:
        return np.multiply(diff, diff)

    def derivative(self, diff: np.ndarray) -> np.ndarray:
        return diff * 2.0

    def mean(self, diff: np.ndarray) -> float:
        return float(np.vdot(diff, diff)) / diff.size

    def mean_gradient(self, diff: np.ndarray) -> np.ndarray:
        return diff * (2.0 / diff.size)

    def check_targets(self, y_true: np.ndarray, output_shape: Shape) -> None:
        check_same_shape("mse", y_true, output_shape)
