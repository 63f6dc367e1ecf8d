"""Which components a command works on: names, distributions, or everything registered."""

from __future__ import annotations

import difflib

from nnframe.core.kinds import KIND_NAMES
from nnframe.core.registry import Component, get_registry, normalize_distribution
from nnframe.errors import AmbiguousComponentError, UnknownComponentError
from nnframe.testing.components import components_of, distribution_problems


def select(names: list[str], everything: bool) -> tuple[list[Component], list[str]]:
    """The components asked for, and the load errors of the plugins concerned.

    A name is a component (bare or ``distribution:name``, of any kind) or a distribution;
    ``everything`` selects every registered component and reports every broken plugin.
    """
    registry = get_registry()
    if everything:
        problems = [f"plugin {p.name!r} of {p.distribution} failed to load: {p.error}"
                    for p in registry.plugins() if p.status != "ok"]
        return registry.components(), problems
    chosen: list[Component] = []
    problems: list[str] = []
    for name in names:
        found = _components_named(name)
        if not found:
            if _is_distribution(name):
                found = components_of(name)
                problems += distribution_problems(name)
            else:
                raise _unknown(name)
        chosen += [c for c in found if c not in chosen]
    return chosen, problems


def _components_named(name: str) -> list[Component]:
    registry = get_registry()
    found = []
    for kind in KIND_NAMES:
        try:
            found.append(registry.get(kind, name))
        except AmbiguousComponentError:
            raise
        except UnknownComponentError:
            continue
    return found


def _is_distribution(name: str) -> bool:
    wanted = normalize_distribution(name)
    return any(normalize_distribution(p.distribution) == wanted
               for p in get_registry().plugins())


def _unknown(name: str) -> UnknownComponentError:
    registry = get_registry()
    known = sorted({c.name for c in registry.components()}
                   | {c.qualified_name for c in registry.components()}
                   | {p.distribution for p in registry.plugins()})
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return UnknownComponentError(f"no component or plugin distribution named {name!r}.{hint} "
                                 "See `nnframe list` and `nnframe plugins`.")
