"""`check_optimizer`: does an optimizer honour the optimizer contract?

The test problem is a convex quadratic, ``E = sum(a * (p - c)**2) / 2`` over two parameter
arrays with ``a > 0``, whose gradient ``a * (p - c)`` is written into the same gradient
arrays before every step, as a network does; the optimizer gets them as one
`ParameterGroup`, as from a network.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from nnframe.core.contracts import ParameterGroup
from nnframe.testing.hints import explicit_hints
from nnframe.testing.properties import (
    ComponentCheck,
    compare,
    merged,
    rebuild_from_config,
    run_check,
    varied_configs,
)
from nnframe.testing.report import CheckReport, PropertyResult

SHAPES = {"0.weights": (3, 4), "0.bias": (4,)}
SAME = 1e-12


def check_optimizer(
    factory_or_name: Any,
    *,
    hints: Mapping[str, Any] | None = None,
    seed: int = 0,
    raises: bool = True,
    **config: Any,
) -> CheckReport:
    """Check an optimizer against its contract and return the report.

    ``config`` (or the factory's ``check_hints``) gives the constructor arguments; ``steps``
    in the hints is how long it runs on the test quadratic. Raises `AssertionError` listing
    every failed property unless ``raises`` is false.
    """
    explicit = explicit_hints(hints, config)
    return run_check("optimizer", factory_or_name, explicit, seed, raises, OptimizerCheck)


@attrs.define
class Quadratic:
    """Parameters (one group, as a network gives them), their curvatures ``a`` and minimum
    ``c``, and the gradient written in place."""

    parameters: ParameterGroup
    curvature: dict[str, np.ndarray]
    minimum: dict[str, np.ndarray]

    @classmethod
    def new(cls, seed: int, dtype: Any) -> Quadratic:
        rng = np.random.default_rng([seed, 5])
        parameters = ParameterGroup.allocate(SHAPES, dtype)
        curvature, minimum = {}, {}
        for p in parameters:
            p.value[...] = rng.standard_normal(p.value.shape)
            curvature[p.key] = rng.uniform(0.5, 2.0, p.value.shape).astype(dtype)
            minimum[p.key] = rng.standard_normal(p.value.shape).astype(dtype)
        return cls(parameters, curvature, minimum)

    def value(self) -> float:
        return float(sum(np.sum(self.curvature[p.key] * (p.value - self.minimum[p.key]) ** 2)
                         for p in self.parameters) / 2)

    def descend(self, optimizer: Any, steps: int) -> None:
        """``steps`` steps down the quadratic; an optimizer that maximises (``maximize``
        true, as torch's) is given the gradient of its negative, so it descends too."""
        sign = -1.0 if getattr(optimizer, "maximize", False) else 1.0
        for _ in range(steps):
            for p in self.parameters:
                np.multiply(self.curvature[p.key], p.value - self.minimum[p.key], out=p.grad)
                p.grad *= sign
            optimizer.step(self.parameters)

    def values(self) -> dict[str, np.ndarray]:
        return {p.key: p.value.copy() for p in self.parameters}

    def restore(self, values: dict[str, np.ndarray]) -> None:
        for p in self.parameters:
            p.value[...] = values[p.key]


@attrs.define
class OptimizerCheck(ComponentCheck):
    """The properties of one optimizer, each checked on a new instance and problem."""

    def properties(self) -> list[tuple[str, Callable[[], Any]]]:
        return [
            ("reduces_quadratic", self.reduces_quadratic),
            ("in_place", self.in_place),
            ("dtype", self.dtype),
            ("state_roundtrip", self.state_roundtrip),
            ("config_roundtrip", self.config_roundtrip),
        ]

    def make(self) -> Any:
        return self.subject.make(**self.hints.config)

    def reduces_quadratic(self) -> PropertyResult:
        problem = Quadratic.new(self.seed, np.float64)
        before = problem.value()
        problem.descend(self.make(), self.hints.steps)
        after = problem.value()
        passed = bool(np.isfinite(after) and after < before)
        return PropertyResult("reduces_quadratic", passed,
                              f"{before:.6g} -> {after:.6g} after {self.hints.steps} steps",
                              None)

    def in_place(self) -> PropertyResult:
        """The same arrays change: the network's layers hold them, not the optimizer."""
        problem = Quadratic.new(self.seed, np.float64)
        arrays = {p.key: p.value for p in problem.parameters}
        buffers = (problem.parameters.values, problem.parameters.grads)
        start = problem.values()
        problem.descend(self.make(), 1)
        now = (problem.parameters.values, problem.parameters.grads)
        if any(a is not b for a, b in zip(now, buffers, strict=True)):
            return PropertyResult("in_place", False, "step replaced the group's values or "
                                  "grads buffer instead of updating it in place")
        for p in problem.parameters:
            if p.value is not arrays[p.key]:
                return PropertyResult("in_place", False, f"step replaced the array of {p.key} "
                                      "instead of updating it in place", where=p.key)
        unchanged = [k for k, v in arrays.items() if np.array_equal(v, start[k])]
        if unchanged:
            return PropertyResult("in_place", False, "one step left "
                                  f"{', '.join(unchanged)} unchanged", where=unchanged[0])
        return PropertyResult("in_place", True, "one step updates the same arrays")

    def dtype(self) -> PropertyResult:
        """float32 parameters stay float32, and so does the floating-point state."""
        problem = Quadratic.new(self.seed, np.float32)
        optimizer = self.make()
        problem.descend(optimizer, 3)
        found = {p.key: p.value for p in problem.parameters}
        found.update({f"state {k}": np.asarray(v) for k, v in optimizer.state_dict().items()})
        wrong = [f"{k} is {v.dtype}" for k, v in found.items()
                 if np.issubdtype(v.dtype, np.floating) and v.dtype != np.float32]
        if wrong:
            return PropertyResult("dtype", False, "float32 parameters: " + "; ".join(wrong),
                                  where=wrong[0].split(" is ")[0])
        return PropertyResult("dtype", True, "float32 parameters and state stay float32")

    def state_roundtrip(self) -> PropertyResult:
        """state_dict() saves without pickle; loaded into a new optimizer, the next steps
        are the very steps the original takes."""
        name = "state_roundtrip"
        problem = Quadratic.new(self.seed, np.float64)
        original = self.make()
        problem.descend(original, 3)
        buffer = io.BytesIO()
        try:
            np.savez(buffer, **original.state_dict())
        except (TypeError, ValueError) as exc:
            return PropertyResult(name, False, f"state_dict() cannot be saved: {exc}")
        buffer.seek(0)
        with np.load(buffer, allow_pickle=False) as saved:
            state = {key: saved[key] for key in saved.files}
        position = problem.values()
        problem.descend(original, 3)
        expected = problem.values()
        restored = self.make()
        restored.load_state_dict(state)
        problem.restore(position)
        problem.descend(restored, 3)
        what = ("after load_state_dict", "uninterrupted")
        results = [compare(name, key, expected[key], value, SAME, what)
                   for key, value in problem.values().items()]
        result = merged(name, results)
        if result.passed:
            return attrs.evolve(result, detail=f"state of {len(state)} entries; 3 more steps agree")
        return result

    def config_roundtrip(self) -> PropertyResult:
        """The config rebuilds an optimizer that takes the same steps: with the hinted
        config, and with each numeric or boolean argument changed from its default."""
        name = "config_roundtrip"
        configs = [dict(self.hints.config), *varied_configs(self.subject.factory,
                                                            self.hints.config)]
        for config in configs:
            try:
                original = self.subject.make(**config)
            except Exception:
                if config is configs[0]:
                    raise
                continue
            outcome = rebuild_from_config(original, self.subject.factory, "optimizer")
            if isinstance(outcome, PropertyResult):
                return outcome
            rebuilt, _ = outcome
            first = Quadratic.new(self.seed, np.float64)
            second = Quadratic.new(self.seed, np.float64)
            first.descend(original, 3)
            second.descend(rebuilt, 3)
            results = [compare(name, key, value, second.values()[key], SAME,
                               ("rebuilt from its config", "original"))
                       for key, value in first.values().items()]
            result = merged(name, results)
            if not result.passed:
                return attrs.evolve(result, detail=f"made with {config}: {result.detail}")
        return PropertyResult(name, True, f"{len(configs)} configs rebuild equal optimizers")
