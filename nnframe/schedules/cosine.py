"""Cosine decay with an optional linear warm-up, step by step."""

from __future__ import annotations

import math

import attrs

from nnframe.checks.arguments import non_negative, to_float
from nnframe.core.contracts import Schedule
from nnframe.errors import ConfigError


def check_floor(schedule: str, floor: float, base: float) -> None:
    """`ConfigError` when a schedule's ``min_learning_rate`` is above the optimizer's rate."""
    if floor > base:
        raise ConfigError(f"{schedule}: min_learning_rate {floor:g} is above the optimizer's "
                          f"learning rate {base:g}, which it would never reach; give a lower "
                          "min_learning_rate or a higher learning_rate")


@attrs.define(eq=False)
class CosineDecay(Schedule):
    """Linear warm-up over ``warmup_epochs`` (may be fractional), then cosine decay from
    the optimizer's rate down to ``min_learning_rate`` at the last step of the run."""

    warmup_epochs: float = attrs.field(default=0.0, converter=to_float, validator=non_negative)
    min_learning_rate: float = attrs.field(default=0.0, converter=to_float,
                                           validator=non_negative)

    def start(self, base_learning_rate: float, steps_per_epoch: int, epochs: int) -> None:
        """Refuse a floor above the rate it decays from (it was clamped without a word)."""
        check_floor("CosineDecay", self.min_learning_rate, base_learning_rate)
        super().start(base_learning_rate, steps_per_epoch, epochs)

    def rate(self, step: int) -> float:
        warmup = round(self.warmup_epochs * self.steps_per_epoch)
        base = self.base_learning_rate
        if step < warmup:
            return base * (step + 1) / warmup
        decay_steps = max(1, self.total_steps - warmup - 1)
        progress = min(1.0, (step - warmup) / decay_steps)
        low = min(self.min_learning_rate, base)
        return low + (base - low) * 0.5 * (1.0 + math.cos(math.pi * progress))
