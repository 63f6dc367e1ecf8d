"""What a check found: one `PropertyResult` per property, gathered in a `CheckReport`."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class PropertyResult:
    """One property of the contract, checked: its name, whether it held, and the numbers.

    ``error`` is the measured number (a max relative error, a difference); ``where`` names
    the array and index where it was largest (``"weights[2, 1]"``); ``detail`` says it in
    words.
    """

    name: str
    passed: bool
    detail: str = ""
    error: float | None = None
    where: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    def __str__(self) -> str:
        verdict = "ok" if self.passed else "FAILED"
        return f"{self.name}: {verdict}" + (f" ({self.detail})" if self.detail else "")


@attrs.frozen
class CheckReport:
    """Every property checked for one component; ``passed`` when all of them held."""

    kind: str
    component: str
    properties: tuple[PropertyResult, ...] = attrs.field(converter=tuple)

    @property
    def passed(self) -> bool:
        return all(p.passed for p in self.properties)

    @property
    def failures(self) -> list[PropertyResult]:
        return [p for p in self.properties if not p.passed]

    def __getitem__(self, name: str) -> PropertyResult:
        for result in self.properties:
            if result.name == name:
                return result
        raise KeyError(f"{self.component} has no property {name!r}; it has "
                       f"{', '.join(p.name for p in self.properties)}")

    def summary(self) -> str:
        """One line per failed property (or that all passed), for messages and logs."""
        if self.passed:
            count = len(self.properties)
            held = "the 1 property holds" if count == 1 else f"all {count} properties hold"
            return f"{self.kind} {self.component}: {held}"
        lines = [f"{self.kind} {self.component}: {len(self.failures)} of "
                 f"{len(self.properties)} properties failed"]
        lines += [f"  {failure}" for failure in self.failures]
        return "\n".join(lines)

    def raise_for_failures(self) -> CheckReport:
        """Raise `AssertionError` listing every failed property; return self otherwise."""
        if not self.passed:
            raise AssertionError(self.summary())
        return self

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "component": self.component,
            "passed": self.passed,
            "properties": [p.as_dict() for p in self.properties],
        }
