"""Checking registered components: one, every one of a distribution, or every one."""

from __future__ import annotations

import importlib
from typing import Any

from nnframe.core.kinds import kind as kind_named
from nnframe.core.registry import Component, get_registry, normalize_distribution
from nnframe.testing.generic import check_generic
from nnframe.testing.report import CheckReport


def check_component(component: Component, *, raises: bool = True, **kwargs: Any) -> CheckReport:
    """Run the check of the component's kind with its own hints (`check_layer` and friends;
    a kind without a contract check of its own gets `check_generic`)."""
    return checker(component.kind)(component, raises=raises, **kwargs)


def checker(kind: str) -> Any:
    """The kit's check function for a kind of component, from the kinds table."""
    reference = kind_named(kind).check
    if reference is None:
        return lambda component, **kwargs: check_generic(kind, component, **kwargs)
    module, _, function = reference.partition(":")
    return getattr(importlib.import_module(module), function)


def components_of(distribution: str) -> list[Component]:
    """Every component the distribution registered, by kind and name."""
    wanted = normalize_distribution(distribution)
    return [c for c in get_registry().components()
            if normalize_distribution(c.distribution) == wanted]


def distribution_problems(distribution: str) -> list[str]:
    """Why the distribution's components cannot all be checked: plugins of it that failed
    to load, or no plugin of it at all."""
    wanted = normalize_distribution(distribution)
    plugins = [p for p in get_registry().plugins()
               if normalize_distribution(p.distribution) == wanted]
    if not plugins:
        return [f"no plugin of the distribution {distribution!r} is loaded: is it installed "
                "in this environment, and allowed by NNFRAME_LOAD_PLUGINS?"]
    problems = [f"plugin {p.name!r} of {p.distribution} failed to load: {p.error}"
                for p in plugins if p.status != "ok"]
    if not problems and not components_of(distribution):
        problems.append(f"the distribution {distribution!r} registers no components")
    return problems


def check_distribution(distribution: str, *, raises: bool = True) -> list[CheckReport]:
    """Check every component a distribution registers; raise `AssertionError` listing every
    failed property (and any plugin of it that failed to load) unless ``raises`` is false."""
    problems = distribution_problems(distribution)
    reports = [check_component(c, raises=False) for c in components_of(distribution)]
    problems += [report.summary() for report in reports if not report.passed]
    if raises and problems:
        raise AssertionError("\n".join(problems))
    return reports
