"""Shared pieces of the property checks: running one safely and describing numbers."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from nnframe.errors import ConfigError
from nnframe.modelfile.roundtrip import config_text, setting_mismatch
from nnframe.testing.gradients import gradient_mismatch, worst_element
from nnframe.testing.hints import HINTS_ATTRIBUTE, CheckHints, factory_hints
from nnframe.testing.report import CheckReport, PropertyResult
from nnframe.testing.subjects import Subject, resolve


def run_check(kind: str, factory_or_name: Any, explicit: Mapping[str, Any], seed: int,
              raises: bool, checker: Callable[..., Any]) -> CheckReport:
    """Resolve the component, settle its hints and run ``checker(subject, hints, seed)``.

    Bad ``check_hints`` on the factory fail the property ``check_hints`` (the component's
    fault); bad ``explicit`` hints raise `ConfigError` (the caller's).
    """
    subject = resolve(kind, factory_or_name)
    try:
        base = factory_hints(subject.factory)
    except ConfigError as exc:
        results = [PropertyResult(HINTS_ATTRIBUTE, False,
                                  f"{HINTS_ATTRIBUTE} of {subject.label}: {exc}")]
    else:
        results = checker(subject, base.merged(explicit), seed).run()
    report = CheckReport(kind, subject.label, results)
    return report.raise_for_failures() if raises else report


@attrs.define
class ComponentCheck:
    """The properties of one component; subclasses list them in `properties`."""

    subject: Subject
    hints: CheckHints
    seed: int

    def properties(self) -> list[tuple[str, Callable[[], Any]]]:
        raise NotImplementedError

    def prepare(self) -> PropertyResult | None:
        """Settle what every property needs; a failure here is the only result."""
        try:
            self.subject.make(**self.hints.config)
        except Exception as exc:
            return PropertyResult("build", False, (
                f"{self.subject.label}(**{self.hints.config}) raised "
                f"{type(exc).__name__}: {exc} (give check_hints for its config)"))
        return None

    def run(self) -> list[PropertyResult]:
        failure = self.prepare()
        if failure is not None:
            return [failure]
        results: list[PropertyResult] = []
        for name, check in self.properties():
            results += guarded(name, check)
        return results


def rebuild_from_config(component: Any, factory: Callable[..., Any], what: str
                        ) -> tuple[Any, str] | PropertyResult:
    """``(rebuilt, config JSON)`` when get_config() survives JSON and the factory rebuilds
    a component with the same config and the same settings; otherwise the failed
    ``config_roundtrip`` result."""
    name = "config_roundtrip"
    try:
        text = config_text(component)
    except (TypeError, ValueError, NotImplementedError) as exc:
        return PropertyResult(name, False, f"get_config() is not JSON-safe: {exc}")
    rebuilt = factory(**json.loads(text))
    again = config_text(rebuilt)
    if again != text:
        return PropertyResult(name, False, f"get_config() gave {text}, but the {what} "
                              f"rebuilt from it gives {again}")
    problem = setting_mismatch(component, rebuilt)
    if problem is not None:
        return PropertyResult(name, False, f"get_config() gave {text}, but in the {what} "
                              f"rebuilt from it {problem}")
    return rebuilt, text


def varied_configs(factory: Callable[..., Any], config: Mapping[str, Any]
                   ) -> list[dict[str, Any]]:
    """``config`` with one argument at a time changed from its default: each number moved,
    each boolean flipped. A component that drops or renames an argument rebuilds from its
    config with the default instead, which these configs expose."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return []
    varied = []
    for parameter in parameters:
        default = parameter.default
        if parameter.name in config or default is parameter.empty or default is None:
            continue
        if isinstance(default, bool):
            value: Any = not default
        elif isinstance(default, int):
            value = default + 1
        elif isinstance(default, float):
            value = default * 0.5 + 0.25 if default else 0.25
        else:
            continue
        varied.append({**config, parameter.name: value})
    return varied


def guarded(name: str, check: Callable[[], PropertyResult | list[PropertyResult]]
            ) -> list[PropertyResult]:
    """Run one property check; an exception fails the property with what was raised."""
    try:
        result = check()
    except Exception as exc:
        return [PropertyResult(name, False, f"raised {type(exc).__name__}: {exc}")]
    return result if isinstance(result, list) else [result]


#: Products NumPy hands to BLAS. Some BLAS kernels raise the floating-point "invalid" flag
#: in vector lanes they compute but never store (heap contents past the array), so NumPy
#: may report "invalid value encountered in matmul" for a product whose every result is
#: finite, and only on some runs. A product's real overflow shows as inf or NaN in its
#: results, which the checks look at anyway, so its flags are not taken as evidence.
BLAS_PRODUCTS = frozenset({"matmul", "dot", "vecdot", "matvec", "vecmat", "inner",
                           "tensordot", "einsum"})


@attrs.define
class FloatingPointLog:
    """Collects NumPy's floating-point warnings (``np.errstate(..., call=log)`` in
    ``"log"`` mode) to tell a layer's own overflow from a BLAS flag."""

    messages: list[str] = attrs.field(factory=list)

    def write(self, message: str) -> None:
        self.messages.append(message.strip().removeprefix("Warning: "))

    def errstate(self) -> Any:
        """The context that logs overflow, invalid values and division by zero here."""
        return np.errstate(over="log", invalid="log", divide="log", call=self)

    def first_error(self) -> str | None:
        """The first message not from a BLAS product (``overflow encountered in exp``)."""
        for message in self.messages:
            if message.rsplit(" in ", 1)[-1] not in BLAS_PRODUCTS:
                return message
        return None


def location(name: str, index: tuple[int, ...]) -> str:
    """``weights[2, 1]``, or just the name for a scalar or no index."""
    return f"{name}[{', '.join(map(str, index))}]" if index else name


def compare(name: str, label: str, expected: np.ndarray, actual: np.ndarray,
            tolerance: float, what: tuple[str, str] = ("got", "expected")) -> PropertyResult:
    """Pass when ``actual`` matches ``expected`` within ``tolerance`` (max relative error).

    ``what`` names the two sides in the message, actual first: ``("backward", "finite
    differences")``.
    """
    expected = np.asarray(expected)
    actual = np.asarray(actual)
    if expected.shape != actual.shape:
        return PropertyResult(name, False, f"{label}: shape {actual.shape}, expected "
                              f"{expected.shape}", float("inf"), label)
    error, index = worst_element(actual, expected)
    where = location(label, index)
    passed = bool(error <= tolerance)
    if passed:
        detail = f"max relative error {error:.1e} (tolerance {tolerance:.0e})"
    else:
        detail = (f"max relative error {error:.3g} at {where}: {what[0]} "
                  f"{float(actual[index]):.6g}, {what[1]} {float(expected[index]):.6g} "
                  f"(tolerance {tolerance:.0e})")
    return PropertyResult(name, passed, detail, error, where)


def compare_gradient(name: str, label: str, numeric: np.ndarray, analytic: np.ndarray, *,
                     scale: float, rtol: float) -> PropertyResult:
    """Pass when ``backward`` (``analytic``) matches finite differences element by element
    within `nnframe.testing.gradients.gradient_mismatch`'s tolerance (a relative part
    ``rtol`` and an absolute part for float64 rounding at the energy's ``scale``).
    The result's ``error`` is the worst element's error over its tolerance (at most 1)."""
    numeric = np.asarray(numeric)
    analytic = np.asarray(analytic)
    if numeric.shape != analytic.shape:
        return PropertyResult(name, False, f"{label}: shape {analytic.shape}, expected "
                              f"{numeric.shape}", float("inf"), label)
    mismatch = gradient_mismatch(analytic, numeric, scale=scale, rtol=rtol)
    where = location(label, mismatch.index)
    if mismatch.passed:
        detail = (f"worst element at {mismatch.ratio:.2g} of its tolerance (rtol "
                  f"{rtol:.0e} + atol {mismatch.atol:.1e})")
    else:
        detail = mismatch.describe(label, analytic, numeric)
    return PropertyResult(name, mismatch.passed, detail, mismatch.ratio, where)


def merged(name: str, results: list[PropertyResult]) -> PropertyResult:
    """One result for several comparisons: the worst one, or all passed."""
    failed = [r for r in results if not r.passed]
    if failed:
        worst = failed[0]
        return PropertyResult(name, False, worst.detail, worst.error, worst.where)
    worst = max(results, key=lambda r: r.error or 0.0, default=None)
    if worst is None:
        return PropertyResult(name, True)
    return PropertyResult(name, True, worst.detail, worst.error, worst.where)
