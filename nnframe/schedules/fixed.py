"""Schedules fixed in advance by the epoch: constant, step decay, exponential decay."""

from __future__ import annotations

import attrs

from nnframe.checks.arguments import positive_float, positive_int, to_float, to_int
from nnframe.core.contracts import Schedule


@attrs.define(eq=False)
class Constant(Schedule):
    """The optimizer's learning rate at every step."""

    def rate(self, step: int) -> float:
        return self.base_learning_rate


@attrs.define(eq=False)
class StepDecay(Schedule):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs (PyTorch's StepLR)."""

    step_size: int = attrs.field(default=10, converter=to_int, validator=positive_int)
    gamma: float = attrs.field(default=0.1, converter=to_float, validator=positive_float)

    def rate(self, step: int) -> float:
        return self.base_learning_rate * self.gamma ** (self.epoch_of(step) // self.step_size)


@attrs.define(eq=False)
class ExponentialDecay(Schedule):
    """Multiply the rate by ``gamma`` every epoch (PyTorch's ExponentialLR)."""

    gamma: float = attrs.field(default=0.9, converter=to_float, validator=positive_float)

    def rate(self, step: int) -> float:
        return self.base_learning_rate * self.gamma ** self.epoch_of(step)
