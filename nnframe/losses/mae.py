"""Mean absolute error: the mean of |y_pred - y_true| over every element of the batch."""

from __future__ import annotations

from typing import ClassVar

import attrs
import numpy as np

from nnframe.core.contracts import Shape
from nnframe.losses.elementwise import ElementwiseLoss
from nnframe.losses.targets import check_same_shape


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class MeanAbsoluteError(ElementwiseLoss):
    """Mean absolute error over all outputs: mean(|y_pred - y_true|) (torch.nn.L1Loss);
    ``reduction`` "sum" or "none" as PyTorch's."""

    loss_name: ClassVar[str] = "mae"

    def values(self, diff: np.ndarray) -> np.ndarray:
        return np.abs(diff)

    def derivative(self, diff: np.ndarray) -> np.ndarray:
        return np.sign(diff)

    def check_targets(self, y_true: np.ndarray, output_shape: Shape) -> None:
        check_same_shape("mae", y_true, output_shape)
