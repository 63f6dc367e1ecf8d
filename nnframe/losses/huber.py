"""Huber and smooth L1 losses: quadratic for small errors, linear for large ones
(``torch.nn.HuberLoss`` and ``torch.nn.SmoothL1Loss``; smooth_l1 is huber / beta)."""

from __future__ import annotations

from typing import ClassVar

import attrs
import numpy as np

from nnframe.checks.arguments import non_negative, positive_float, to_float
from nnframe.core.contracts import Shape
from nnframe.losses.elementwise import ElementwiseLoss
from nnframe.losses.targets import check_same_shape


def _huber(diff: np.ndarray, delta: float) -> np.ndarray:
    """0.5 d**2 where |d| <= delta, else delta * (|d| - 0.5 delta), element by element."""
    size = np.abs(diff)
    quadratic = np.minimum(size, delta)
    # 0.5 q**2 + delta * (|d| - q) equals both branches of the definition
    size -= quadratic
    size *= delta
    quadratic *= quadratic
    quadratic *= 0.5
    quadratic += size
    return quadratic


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class Huber(ElementwiseLoss):
    """Huber loss: 0.5 d**2 where |d| <= delta, else delta * (|d| - 0.5 delta); the mean
    (``reduction`` "sum" or "none" as PyTorch's)."""

    loss_name: ClassVar[str] = "huber"

    delta: float = attrs.field(default=1.0, converter=to_float, validator=positive_float)

    def values(self, diff: np.ndarray) -> np.ndarray:
        return _huber(diff, self.delta)

    def derivative(self, diff: np.ndarray) -> np.ndarray:
        return np.clip(diff, -self.delta, self.delta)

    def check_targets(self, y_true: np.ndarray, output_shape: Shape) -> None:
        check_same_shape(self.loss_name, y_true, output_shape)


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class SmoothL1(ElementwiseLoss):
    """Smooth L1 loss (torch.nn.SmoothL1Loss): 0.5 d**2 / beta where |d| < beta, else
    |d| - 0.5 beta; the mean (``reduction`` "sum" or "none" as PyTorch's). ``beta`` 0 is
    the plain L1 loss (mae); for any beta > 0 it is huber with delta = beta, divided by
    beta."""

    loss_name: ClassVar[str] = "smooth_l1"

    beta: float = attrs.field(default=1.0, converter=to_float, validator=non_negative)

    def values(self, diff: np.ndarray) -> np.ndarray:
        if self.beta == 0.0:
            return np.abs(diff)
        values = _huber(diff, self.beta)
        values *= 1.0 / self.beta
        return values

    def derivative(self, diff: np.ndarray) -> np.ndarray:
        if self.beta == 0.0:
            return np.sign(diff)
        grad = np.clip(diff, -self.beta, self.beta)
        grad *= 1.0 / self.beta
        return grad

    def check_targets(self, y_true: np.ndarray, output_shape: Shape) -> None:
        check_same_shape(self.loss_name, y_true, output_shape)
