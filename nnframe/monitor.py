"""Watching one logged value for improvement: what early stopping and plateau schedules share."""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection
from typing import Any

import attrs

from nnframe.errors import ConfigError

MODES = ("auto", "min", "max")
#: Logged names (without ``val_``) where smaller is better, for ``mode="auto"``.
LOWER_IS_BETTER = ("loss", "mae", "mse", "error")


def direction(monitor: str, mode: str) -> str:
    """``"min"`` or ``"max"``: ``auto`` reads the monitored name (losses and errors go down,
    accuracies and scores go up)."""
    if mode not in MODES:
        raise ConfigError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    bare = monitor.removeprefix("val_")
    return "min" if any(word in bare for word in LOWER_IS_BETTER) else "max"


def _min_delta(value: Any) -> float:
    """``|value|`` as a float; `ConfigError` unless it is a finite number (NaN would make
    every epoch a non-improvement, infinity every epoch too)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value):
        raise ConfigError(f"min_delta must be a finite number, got {value!r}")
    return abs(float(value))


@attrs.define
class Monitor:
    """The best value of ``monitor`` seen so far and how many epochs since it improved."""

    monitor: str
    mode: str = "auto"
    min_delta: float = attrs.field(default=0.0, converter=_min_delta)
    best: float = attrs.field(init=False, default=math.nan)
    wait: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        self.mode = direction(self.monitor, self.mode)
        self.reset()

    def reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait = 0

    def value(self, logs: dict[str, float], who: str) -> float:
        """The monitored value in an epoch's logs; `ConfigError` saying what is there."""
        if self.monitor not in logs:
            raise ConfigError(
                f"{who} monitors {self.monitor!r} but training reports only "
                f"{', '.join(logs)}; pass validation data (validation_data, validation_split "
                "or [data] validation_split) or monitor one of those")
        return float(logs[self.monitor])

    def check(self, names: Collection[str], who: str) -> None:
        """`ConfigError` before training when no epoch will log the monitored value."""
        self.value(dict.fromkeys(sorted(names), 0.0), who)

    def update(self, value: float) -> bool:
        """Record an epoch's value; True when it improved on the best so far."""
        if self.mode == "min":
            improved = value < self.best - self.min_delta
        else:
            improved = value > self.best + self.min_delta
        if improved:
            self.best, self.wait = value, 0
        else:
            self.wait += 1
        return improved
