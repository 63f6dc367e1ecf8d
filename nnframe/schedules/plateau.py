"""Reduce the learning rate when a monitored value stops improving."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import attrs

from nnframe.checks.arguments import non_negative, to_float, to_int, unit_interval
from nnframe.core.contracts import Schedule
from nnframe.errors import ConfigError
from nnframe.monitor import MODES, Monitor
from nnframe.schedules.cosine import check_floor


def _mode(instance: Any, attribute: Any, value: Any) -> None:
    if value not in MODES:
        raise ConfigError(f"ReduceOnPlateau: mode must be 'auto', 'min' or 'max', got {value!r}")


def _patience(instance: Any, attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"ReduceOnPlateau: patience must be an integer >= 0, got {value!r}")


@attrs.define(eq=False)
class ReduceOnPlateau(Schedule):
    """Multiply the rate by ``factor`` when ``monitor`` has not improved for ``patience``
    epochs, never below ``min_learning_rate`` (PyTorch's ReduceLROnPlateau, per epoch)."""

    monitor: str = "val_loss"
    factor: float = attrs.field(default=0.1, converter=to_float, validator=unit_interval)
    patience: int = attrs.field(default=2, converter=to_int, validator=_patience)
    min_delta: float = attrs.field(default=0.0, converter=to_float, validator=non_negative)
    min_learning_rate: float = attrs.field(default=0.0, converter=to_float,
                                           validator=non_negative)
    mode: str = attrs.field(default="auto", validator=_mode)
    scale: float = attrs.field(init=False, default=1.0)
    _watch: Monitor = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.factor == 0.0:
            raise ConfigError("ReduceOnPlateau: factor must be in (0, 1), got 0.0")
        self._watch = Monitor(self.monitor, self.mode, self.min_delta)

    def start(self, base_learning_rate: float, steps_per_epoch: int, epochs: int) -> None:
        """Refuse a floor above the starting rate (it was clamped without a word)."""
        check_floor("ReduceOnPlateau", self.min_learning_rate, base_learning_rate)
        super().start(base_learning_rate, steps_per_epoch, epochs)

    def rate(self, step: int) -> float:
        return max(self.base_learning_rate * self.scale,
                   min(self.min_learning_rate, self.base_learning_rate))

    def check_logs(self, names: Collection[str]) -> None:
        self._watch.check(names, "ReduceOnPlateau")

    def end_epoch(self, epoch: int, logs: dict[str, float]) -> None:
        if self._watch.update(self._watch.value(logs, "ReduceOnPlateau")):
            return
        if self._watch.wait > self.patience:
            self.scale *= self.factor
            self._watch.wait = 0

    def state_dict(self) -> dict[str, Any]:
        return {"scale": self.scale, "best": self._watch.best, "wait": self._watch.wait}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        try:
            self.scale = float(state["scale"])
            self._watch.best = float(state["best"])
            self._watch.wait = int(state["wait"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"ReduceOnPlateau: invalid saved state {state!r} ({exc})") from None
