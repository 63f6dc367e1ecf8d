"""What ``nnframe show NAME`` prints: a component's documentation, arguments and provider."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterator

import attrs

from nnframe.core.kinds import KIND_NAMES
from nnframe.core.registry import Component, get_registry
from nnframe.docstrings import plain
from nnframe.errors import ComponentError, UnknownComponentError


def find_components(name: str) -> list[Component]:
    """Every component called ``name`` (bare or qualified), of every kind."""
    registry = get_registry()
    found, errors = [], []
    for kind in KIND_NAMES:
        try:
            found.append(registry.get(kind, name))
        except UnknownComponentError:
            continue
        except ComponentError as exc:  # ambiguous between third-party plugins
            errors.append(str(exc))
    if errors and not found:
        raise ComponentError(" ".join(errors))
    if not found:
        names = sorted({c.name for c in registry.components()}
                       | {c.qualified_name for c in registry.components()})
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise UnknownComponentError(f"no component of any kind is called {name!r}.{hint} "
                                    "`nnframe list` shows them all.")
    return found


def describe_component(name: str) -> Iterator[str]:
    """Lines describing each component called ``name``."""
    for index, component in enumerate(find_components(name)):
        if index:
            yield ""
        yield from _describe(component)


def _describe(component: Component) -> Iterator[str]:
    yield f"{component.name} ({component.kind}): {component.summary or 'no description'}"
    origin = "built-in" if component.builtin else f"plugin {component.plugin!r}"
    version = f" {component.version}" if component.version else ""
    yield f"provided by: {component.distribution}{version} ({origin}); qualified name " \
          f"{component.qualified_name}"
    yield "arguments:"
    rows = list(_arguments(component))
    yield from (f"  {row}" for row in rows) if rows else ["  (none)"]
    doc = inspect.getdoc(component.factory) or ""
    rest = doc.split("\n\n", 1)[1].strip() if "\n\n" in doc else ""
    if rest:
        yield ""
        yield from plain(rest).splitlines()


def _arguments(component: Component) -> Iterator[str]:
    try:
        signature = inspect.signature(component.factory)
    except (TypeError, ValueError):
        yield "(not introspectable)"
        return
    declared = _attrs_types(component.factory)
    for parameter in signature.parameters.values():
        if parameter.kind is parameter.VAR_POSITIONAL:
            yield f"*{parameter.name}"
            continue
        if parameter.kind is parameter.VAR_KEYWORD:
            yield f"**{parameter.name}"
            continue
        annotation = declared.get(parameter.name, parameter.annotation)
        if annotation is parameter.empty:
            typed = ""
        else:
            typed = f": {annotation if isinstance(annotation, str) else _type_name(annotation)}"
        default = "  (required)" if parameter.default is parameter.empty \
            else f" = {parameter.default!r}"
        yield f"{parameter.name}{typed}{default}"


def _attrs_types(factory: object) -> dict[str, object]:
    """The declared types of an attrs class's fields (its signature shows converters' types)."""
    if not (isinstance(factory, type) and attrs.has(factory)):
        return {}
    return {f.alias: f.type for f in attrs.fields(factory) if f.init and f.type is not None}


def _type_name(annotation: object) -> str:
    return getattr(annotation, "__name__", None) or str(annotation)
