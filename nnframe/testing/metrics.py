"""`check_metric`: does a metric honour the metric contract?

The test data is a classification batch by default (logits of width 4, integer labels);
a regression metric says ``check_hints = {"targets": "normal"}``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from nnframe.testing.hints import explicit_hints
from nnframe.testing.properties import ComponentCheck, rebuild_from_config, run_check
from nnframe.testing.report import CheckReport, PropertyResult
from nnframe.testing.subjects import draw

#: One output sample's shape and the samples in the test data.
OUTPUT_SHAPE, SAMPLES = (4,), 24
#: Scores computed two ways must agree to this.
AGREE = 1e-12


def check_metric(factory_or_name: Any, *, hints: Mapping[str, Any] | None = None,
                 seed: int = 0, raises: bool = True, **config: Any) -> CheckReport:
    """Check a metric: its name, that its result over several batches is its result over
    them as one, that `reset` forgets, and that its config rebuilds it."""
    explicit = explicit_hints(hints, config)
    return run_check("metric", factory_or_name, explicit, seed, raises, MetricCheck)


@attrs.define
class MetricCheck(ComponentCheck):
    """The properties of one metric."""

    def properties(self) -> list[tuple[str, Callable[[], Any]]]:
        return [
            ("name", self.name),
            ("batches", self.batches),
            ("reset", self.reset),
            ("config_roundtrip", self.config_roundtrip),
        ]

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        shape = (SAMPLES, *(self.hints.input_shape or OUTPUT_SHAPE))
        y_pred = draw(self.hints.inputs, shape, np.random.default_rng([self.seed, 1]))
        y_true = draw(self.targets(), shape, np.random.default_rng([self.seed, 2]))
        return y_true, y_pred

    def targets(self) -> str:
        """Integer class labels, unless the metric's hints name other targets."""
        given = getattr(self.subject.factory, "check_hints", None) or {}
        explicit = "targets" in given or self.hints.targets != "normal"
        return self.hints.targets if explicit else "classes"

    def prepared(self, metric: Any = None) -> Any:
        metric = metric if metric is not None else self.subject.make(**self.hints.config)
        y_true, y_pred = self.data()
        prepare = getattr(metric, "prepare", None)
        if prepare is not None:
            prepare(y_pred.shape[1:], None, y_true)
        metric.reset()
        return metric

    def score(self, metric: Any, splits: int) -> float:
        y_true, y_pred = self.data()
        metric.reset()
        for part in np.array_split(np.arange(len(y_pred)), splits):
            metric.update(y_true[part], y_pred[part])
        return float(metric.result())

    def name(self) -> PropertyResult:
        metric = self.prepared()
        name, better = getattr(metric, "name", None), getattr(metric, "higher_is_better", None)
        if not isinstance(name, str) or not name:
            return PropertyResult("name", False, f"name must be a non-empty string, got {name!r}")
        if not isinstance(better, bool):
            return PropertyResult("name", False, "higher_is_better must be True or False, got "
                                  f"{better!r}")
        return PropertyResult("name", True, f"logged as {name!r}, "
                              f"{'higher' if better else 'lower'} is better")

    def batches(self) -> PropertyResult:
        """The data in one batch, in 3 and in 24 gives the same result (it is accumulated
        over batches, not averaged per batch)."""
        metric = self.prepared()
        scores = [self.score(metric, splits) for splits in (1, 3, SAMPLES)]
        error = max(abs(s - scores[0]) for s in scores)
        finite = all(math.isfinite(s) for s in scores)
        detail = f"1, 3 and {SAMPLES} batches: {', '.join(f'{s:.6g}' for s in scores)}"
        return PropertyResult("batches", bool(finite and error <= AGREE), detail, error)

    def reset(self) -> PropertyResult:
        metric = self.prepared()
        first = self.score(metric, 1)
        y_true, y_pred = self.data()
        metric.update(y_true[:5], -y_pred[:5])  # something else, then forgotten
        second = self.score(metric, 1)
        passed = first == second
        detail = "reset forgets earlier batches" if passed else (
            f"after reset the same data scored {second} instead of {first}")
        return PropertyResult("reset", passed, detail)

    def config_roundtrip(self) -> PropertyResult:
        original = self.prepared()
        outcome = rebuild_from_config(original, self.subject.factory, "metric")
        if isinstance(outcome, PropertyResult):
            return outcome
        rebuilt, text = outcome
        a, b = self.score(original, 1), self.score(self.prepared(rebuilt), 1)
        passed = a == b
        detail = f"config {text}" if passed else (
            f"rebuilt from its config {text}, it scores {b} instead of {a}")
        return PropertyResult("config_roundtrip", passed, detail)
