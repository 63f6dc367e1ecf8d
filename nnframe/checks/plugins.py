"""What the registry checks of plugins and of what they build: a lazy factory's reference,
hooks with unknown names, arguments that do not fit a factory, and a factory that returned
something that is not a component of its kind. Each error names the plugin."""

from __future__ import annotations

import difflib
import inspect
from typing import TYPE_CHECKING, Any

from nnframe.constants import PROJECT_NAME
from nnframe.core import hookspecs
from nnframe.core.kinds import Kind
from nnframe.core.kinds import kind as kind_named
from nnframe.errors import ConfigError, PluginError, UnknownComponentError

if TYPE_CHECKING:
    from nnframe.core.registry import Component


def check_arguments(component: Component, args: tuple, kwargs: dict[str, Any]) -> None:
    """Raise `ConfigError` when the arguments do not fit the factory's signature."""
    try:
        signature = inspect.signature(component.factory)
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        accepted = ", ".join(
            p.name for p in signature.parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        )
        raise ConfigError(
            f"{component.kind} {component.name!r} ({component.distribution}): {exc}; "
            f"it accepts: {accepted or 'no arguments'}"
        ) from None


def check_built(component: Component, built: object) -> None:
    """`PluginError` naming the component when its factory returned something that is not
    a component of its kind (it lacks members of the kind's contract)."""
    missing = [m for m in kind_named(component.kind).members if not hasattr(built, m)]
    if missing:
        raise PluginError(
            f"{component.kind} {component.name!r} of {component.distribution} (plugin "
            f"{component.plugin!r}): its factory returned {type(built).__name__} "
            f"{_short(built)}, which is not a {component.kind}: it lacks "
            f"{', '.join(missing)}; report this to the plugin's author")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_reference(kind: Kind, name: str, reference: str) -> str:
    module, colon, attribute = reference.partition(":")
    parts = [*module.split("."), *attribute.split(".")]
    if not colon or not all(part.isidentifier() for part in parts):
        raise PluginError(f"the factory for {kind.name} {name!r} is the string "
                          f"{reference!r}; a lazy factory is written 'package.module:Name'")
    return reference


def unknown_hooks(plugin: object) -> list[str]:
    """Messages for functions marked as hooks whose names are not hook specifications."""
    marker = f"{PROJECT_NAME}_impl"
    problems = []
    for attr in dir(plugin):
        try:
            value = getattr(plugin, attr)
        except Exception:
            continue
        if attr in hookspecs.HOOKS or not hasattr(value, marker):
            continue
        close = difflib.get_close_matches(attr, list(hookspecs.HOOKS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(f"unknown hook {attr!r}{hint}")
    return problems


def unknown_component(kind: str, name: str, available: list[str], broken: list[str]
                      ) -> UnknownComponentError:
    """The error for a name no plugin registered: close names, what there is, and the
    plugins that failed to load (one of them may have provided it)."""
    close = difflib.get_close_matches(name, available, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    note = (f" Plugins that failed to load: {', '.join(broken)} (see `nnframe plugins`)."
            if broken else "")
    return UnknownComponentError(
        f"unknown {kind} {name!r}.{hint} Available {kind_named(kind).plural}: "
        f"{', '.join(available) or 'none'}.{note}")
