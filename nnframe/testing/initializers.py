"""`check_initializer`: does an initializer honour the initializer contract?"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from nnframe.testing.hints import explicit_hints
from nnframe.testing.properties import ComponentCheck, rebuild_from_config, run_check
from nnframe.testing.report import CheckReport, PropertyResult

#: The shape drawn, with its fans (a dense layer's weights).
SHAPE, FAN_IN, FAN_OUT = (30, 20), 30, 20


def check_initializer(factory_or_name: Any, *, hints: Mapping[str, Any] | None = None,
                      seed: int = 0, raises: bool = True, **config: Any) -> CheckReport:
    """Check an initializer: the shape and dtype it is asked for, finite values drawn only
    from the generator it is given, and a config that rebuilds it."""
    explicit = explicit_hints(hints, config)
    return run_check("initializer", factory_or_name, explicit, seed, raises, InitializerCheck)


@attrs.define
class InitializerCheck(ComponentCheck):
    """The properties of one initializer."""

    def properties(self) -> list[tuple[str, Callable[[], Any]]]:
        return [
            ("shape_and_dtype", self.shape_and_dtype),
            ("seeded", self.seeded),
            ("config_roundtrip", self.config_roundtrip),
        ]

    def draw(self, initializer: Any, dtype: str, seed: int | None = None) -> np.ndarray:
        rng = np.random.default_rng(self.seed if seed is None else seed)
        return initializer(SHAPE, FAN_IN, FAN_OUT, rng, np.dtype(dtype))

    def shape_and_dtype(self) -> PropertyResult:
        initializer = self.subject.make(**self.hints.config)
        wrong = []
        for dtype in ("float32", "float64"):
            array = self.draw(initializer, dtype)
            if not isinstance(array, np.ndarray):
                return PropertyResult("shape_and_dtype", False,
                                      f"returned {type(array).__name__}, not an array")
            if array.shape != SHAPE or array.dtype != np.dtype(dtype):
                wrong.append(f"asked for {dtype} {SHAPE}, got {array.dtype} {array.shape}")
            elif not np.isfinite(array).all():
                wrong.append(f"{dtype}: values that are not finite")
        if wrong:
            return PropertyResult("shape_and_dtype", False, "; ".join(wrong))
        return PropertyResult("shape_and_dtype", True, f"{SHAPE} in float32 and float64, finite")

    def seeded(self) -> PropertyResult:
        """The same generator state gives the same array: randomness only from ``rng``."""
        initializer = self.subject.make(**self.hints.config)
        first, second = self.draw(initializer, "float64"), self.draw(initializer, "float64")
        passed = bool(np.array_equal(first, second))
        detail = "the same seed twice: identical" if passed else (
            "the same seed gave different arrays: draw only from the rng given")
        return PropertyResult("seeded", passed, detail)

    def config_roundtrip(self) -> PropertyResult:
        original = self.subject.make(**self.hints.config)
        outcome = rebuild_from_config(original, self.subject.factory, "initializer")
        if isinstance(outcome, PropertyResult):
            return outcome
        rebuilt, text = outcome
        passed = bool(np.array_equal(self.draw(original, "float64"),
                                     self.draw(rebuilt, "float64")))
        detail = f"config {text}" if passed else (
            f"rebuilt from its config {text}, it draws a different array")
        return PropertyResult("config_roundtrip", passed, detail)
