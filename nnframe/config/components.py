"""Checking one component of a config: its name in the registry and its arguments.

Arguments are checked against the factory's signature (unknown names, with suggestions;
missing required ones; a value whose type cannot match the default's) and then by building
the component, so that its own validators speak too. Every problem names its key.
"""

from __future__ import annotations

import inspect
from typing import Any

from nnframe.config.fields import shown, suggestion
from nnframe.config.problems import Problems
from nnframe.config.schema import ComponentSpec
from nnframe.core.kinds import kind as kind_named
from nnframe.core.registry import Component, check_arguments, check_built, get_registry
from nnframe.errors import ComponentError, NNFrameError, UnknownComponentError


def check_component(problems: Problems, kind: str, key: str,
                    table: dict[str, Any] | str) -> tuple[ComponentSpec | None, Any]:
    """The spec and a freshly built instance, or ``(spec or None, None)`` with problems added.

    ``table`` is ``{type = "name", argument = value, ...}``, or just the name as a string.
    """
    example = kind_named(kind).example
    type_key = f"{key}.type"
    if isinstance(table, str):
        table, type_key = {"type": table}, key
    if not isinstance(table, dict):
        problems.add(key, f"must be a {kind} name or a table with a type, for example "
                     f'{{ type = "{example}" }}, got {shown(table)}')
        return None, None
    name = table.get("type")
    if name is None:
        problems.add(f"{key}.type", f'missing; name the {kind}, for example type = "{example}" '
                     f"(`nnframe list {kind_named(kind).plural}` shows them all)")
        return None, None
    if not isinstance(name, str):
        problems.add(type_key, f"must be a string naming a {kind}, got {shown(name)}")
        return None, None
    component = resolve(problems, kind, type_key, name)
    if component is None:
        return None, None
    arguments = {k: v for k, v in table.items() if k != "type"}
    spec = ComponentSpec(key=key, kind=kind, name=name, arguments=arguments)
    before = len(problems.items)
    _check_signature(problems, component, key, arguments)
    built = _inner_layers(problems, component, key, arguments) if kind == "layer" else {}
    if len(problems.items) > before:
        return spec, None
    try:
        check_arguments(component, (), arguments)
        instance = component.factory(**{**arguments, **built})
        check_built(component, instance)
        get_registry().remember(instance, component)
        return spec, instance
    except NNFrameError as exc:  # an argument's validator names it: report it at its key
        argument = getattr(exc, "argument", None)
        where = f"{key}.{argument}" if argument in arguments else key
        problems.add(where, f"{kind} {name!r}: {exc}")
    except Exception as exc:  # a plugin's factory is a guest: report, do not crash
        problems.add(key, f"{kind} {name!r} could not be created: {type(exc).__name__}: {exc}")
    return spec, None


def resolve(problems: Problems, kind: str, key: str, name: str) -> Component | None:
    """The registered component called ``name``, or None with a problem that suggests
    close names."""
    registry = get_registry()
    try:
        return registry.get(kind, name)
    except UnknownComponentError as exc:
        if ":" in name:  # a qualified name: the registry's message names distributions
            problems.add(key, str(exc))
            return None
        names = sorted({c.name for c in registry.components(kind)})
        problems.add(key, f"unknown {kind} {name!r}{suggestion(name, names)}; available: "
                     f"{', '.join(names) or 'none'} (see `nnframe list {kind_named(kind).plural}`)")
    except ComponentError as exc:
        problems.add(key, str(exc))
    return None


def _check_signature(problems: Problems, component: Component, key: str,
                     arguments: dict[str, Any]) -> None:
    try:
        signature = inspect.signature(component.factory)
    except (TypeError, ValueError):  # no signature to check against: building will tell
        return
    parameters = {
        p.name: p for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    open_ended = any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values())
    what = f"{component.kind} {component.name!r}"
    accepted = ", ".join(parameters) or "no arguments"
    for argument, value in arguments.items():
        parameter = parameters.get(argument)
        if parameter is None:
            if not open_ended:
                problems.add(f"{key}.{argument}", f"unknown argument for {what}"
                             f"{suggestion(argument, parameters)}; it accepts: {accepted}")
            continue
        expected = _expected_type(parameter.default)
        if expected is not None and not _fits(value, parameter.default):
            problems.add(f"{key}.{argument}", f"{what} expects {expected} "
                         f"(default {parameter.default!r}), got {shown(value)}")
    for parameter in parameters.values():
        if parameter.default is parameter.empty and parameter.name not in arguments:
            problems.add(key, f"{what} needs the argument {parameter.name!r}")


def _expected_type(default: Any) -> str | None:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, (int, float)):
        return "a number"
    if isinstance(default, str):
        return "a string"
    return None


def _fits(value: Any, default: Any) -> bool:
    """Whether a TOML value can be meant for a parameter with this default."""
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, (int, float)):
        def is_number(v: Any) -> bool:
            return isinstance(v, (int, float)) and not isinstance(v, bool)
        # sizes such as pool_size = [2, 2] are arrays of numbers
        return is_number(value) or (isinstance(value, list) and all(map(is_number, value)))
    if isinstance(default, str):
        return isinstance(value, str)
    return True


def _inner_layers(problems: Problems, component: Component, key: str,
                  arguments: dict[str, Any]) -> dict[str, Any]:
    """For a composite layer (its factory ``holds`` ``layers`` or ``branches``): each inner
    layer checked at its own key (``model.layers[3].layers[1]``); the built inner layers,
    to build the composite with, when all of them are fine."""
    holds = getattr(component.factory, "holds", None)
    if holds not in ("layers", "branches") or holds not in arguments:
        return {}
    value = arguments[holds]
    what = "an array of layer tables" if holds == "layers" else "an array of arrays of tables"
    if not isinstance(value, list) or (holds == "branches" and not all(
            isinstance(branch, list) for branch in value)):
        problems.add(f"{key}.{holds}", f"must be {what}, got {shown(value)}")
        return {}
    if holds == "layers":
        built = [check_component(problems, "layer", f"{key}.layers[{i}]", table)[1]
                 for i, table in enumerate(value)]
        return {holds: built} if all(layer is not None for layer in built) else {}
    branches = [[check_component(problems, "layer", f"{key}.branches[{b}][{i}]", table)[1]
                 for i, table in enumerate(branch)] for b, branch in enumerate(value)]
    fine = all(layer is not None for branch in branches for layer in branch)
    return {holds: branches} if fine else {}
