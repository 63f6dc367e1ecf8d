"""Shared pieces of the property checks: running one safely and describing numbers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nnframe.errors import ConfigError
from nnframe.testing.gradients import worst_element
from nnframe.testing.hints import HINTS_ATTRIBUTE, factory_hints
from nnframe.testing.report import CheckReport, PropertyResult
from nnframe.testing.subjects import resolve


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


def guarded(name: str, check: Callable[[], PropertyResult | list[PropertyResult]]
            ) -> list[PropertyResult]:
    """Run one property check; an exception fails the property with what was raised."""
    try:
        result = check()
    except Exception as exc:
        return [PropertyResult(name, False, f"raised {type(exc).__name__}: {exc}")]
    return result if isinstance(result, list) else [result]


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
