"""`check_schedule`: does a learning-rate schedule honour the schedule contract?

The test run is 5 epochs of 10 steps from a base rate of 0.1; the logs given at each
epoch's end improve, then stall, so that schedules that react to them do something.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from nnframe.testing.hints import explicit_hints
from nnframe.testing.properties import ComponentCheck, rebuild_from_config, run_check
from nnframe.testing.report import CheckReport, PropertyResult

BASE, STEPS, EPOCHS = 0.1, 10, 5
LOSSES = (1.0, 0.5, 0.5, 0.5, 0.5)


def check_schedule(factory_or_name: Any, *, hints: Mapping[str, Any] | None = None,
                   seed: int = 0, raises: bool = True, **config: Any) -> CheckReport:
    """Check a schedule: finite rates >= 0 at every step of a run, the same rates again
    from a fresh instance, from its config, and after its state is saved and restored."""
    explicit = explicit_hints(hints, config)
    return run_check("schedule", factory_or_name, explicit, seed, raises, ScheduleCheck)


@attrs.define
class ScheduleCheck(ComponentCheck):
    """The properties of one schedule."""

    def properties(self) -> list[tuple[str, Callable[[], Any]]]:
        return [
            ("rates", self.rates),
            ("state_roundtrip", self.state_roundtrip),
            ("config_roundtrip", self.config_roundtrip),
        ]

    def play(self, schedule: Any, epochs: range = range(EPOCHS), start: bool = True
            ) -> list[float]:
        if start:
            schedule.start(BASE, STEPS, EPOCHS)
        rates = []
        for epoch in epochs:
            rates += [float(schedule.rate(epoch * STEPS + step)) for step in range(STEPS)]
            end_epoch = getattr(schedule, "end_epoch", None)
            if end_epoch is not None:
                loss = LOSSES[epoch]
                end_epoch(epoch, {"loss": loss, "val_loss": loss, "accuracy": 1 - loss,
                                  "val_accuracy": 1 - loss})
        return rates

    def rates(self) -> PropertyResult:
        rates = self.play(self.subject.make(**self.hints.config))
        again = self.play(self.subject.make(**self.hints.config))
        bad = [r for r in rates if not (math.isfinite(r) and r >= 0)]
        if bad:
            return PropertyResult("rates", False, f"rate {bad[0]} is not a finite number >= 0")
        if rates != again:
            return PropertyResult("rates", False, "two fresh instances gave different rates")
        return PropertyResult("rates", True, f"{len(rates)} steps: {rates[0]:.4g} to "
                              f"{rates[-1]:.4g}")

    def state_roundtrip(self) -> PropertyResult:
        """state_dict() after 2 epochs is JSON, and a new instance given it continues with
        the very rates of the original."""
        original = self.subject.make(**self.hints.config)
        self.play(original, range(2))
        saver = getattr(original, "state_dict", None)
        if saver is None:
            return PropertyResult("state_roundtrip", True, "no state (no state_dict)")
        try:
            state = json.loads(json.dumps(saver()))
        except (TypeError, ValueError) as exc:
            return PropertyResult("state_roundtrip", False, f"state_dict() is not JSON: {exc}")
        expected = self.play(original, range(2, EPOCHS), start=False)
        restored = self.subject.make(**self.hints.config)
        restored.start(BASE, STEPS, EPOCHS)
        restored.load_state_dict(state)
        got = self.play(restored, range(2, EPOCHS), start=False)
        passed = got == expected
        detail = f"state {state}" if passed else (
            "after load_state_dict the rates differ from the original's")
        return PropertyResult("state_roundtrip", passed, detail)

    def config_roundtrip(self) -> PropertyResult:
        original = self.subject.make(**self.hints.config)
        outcome = rebuild_from_config(original, self.subject.factory, "schedule")
        if isinstance(outcome, PropertyResult):
            return outcome
        rebuilt, text = outcome
        passed = self.play(original) == self.play(rebuilt)
        detail = f"config {text}" if passed else (
            f"rebuilt from its config {text}, it gives other rates")
        return PropertyResult("config_roundtrip", passed, detail)
