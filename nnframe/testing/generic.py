"""`check_generic`: what the kit checks of a component kind without a contract check of its
own (callbacks, data sets): it builds, and its config rebuilds it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from nnframe.testing.hints import explicit_hints
from nnframe.testing.properties import ComponentCheck, rebuild_from_config, run_check
from nnframe.testing.report import CheckReport, PropertyResult


def check_generic(kind: str, factory_or_name: Any, *, hints: Mapping[str, Any] | None = None,
                  seed: int = 0, raises: bool = True, **config: Any) -> CheckReport:
    """Check that a component builds (with its ``check_hints`` config) and that its
    ``get_config()`` rebuilds one with the same settings."""
    explicit = explicit_hints(hints, config)
    return run_check(kind, factory_or_name, explicit, seed, raises, GenericCheck)


@attrs.define
class GenericCheck(ComponentCheck):
    """Building and the config round trip."""

    def properties(self) -> list[tuple[str, Callable[[], Any]]]:
        return [("config_roundtrip", self.config_roundtrip)]

    def config_roundtrip(self) -> PropertyResult:
        outcome = rebuild_from_config(self.subject.make(**self.hints.config),
                                      self.subject.factory, self.subject.kind)
        if isinstance(outcome, PropertyResult):
            return outcome
        return PropertyResult("config_roundtrip", True, f"config {outcome[1]}")
