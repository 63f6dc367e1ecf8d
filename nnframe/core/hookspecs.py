"""The hook specifications every nnframe plugin implements (pluggy project ``nnframe``).

A plugin is a module (or any object) with functions marked ``@nnframe.hookimpl``, named
after the kinds it provides: ``register_layers``, ``register_losses``,
``register_optimizers``, ``register_initializers``, ``register_metrics``,
``register_schedules``, ``register_callbacks``, ``register_datasets`` and
``register_converters`` (one per entry of `nnframe.core.kinds.KINDS`). Each is called once
with a ``register`` callable::

    @nnframe.hookimpl
    def register_layers(register):
        register("swish", Swish)                                  # a class or a function
        register("gelu", "my_package.gelu:GELU", summary="...")  # imported on first use

``register(name, factory, *, summary=None)``: ``factory(**config)`` must build the
component; given as ``"module:attribute"`` it is imported only when first used, so listing
components stays fast. The built-in components are registered through these very hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import pluggy

from nnframe.constants import PROJECT_NAME
from nnframe.core.kinds import KINDS

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks the hook specifications below (nnframe's own use)."""
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin's hook implementations: ``@nnframe.hookimpl`` above a function named
after a hook (``register_layers``), in the module an entry point names."""


class Register(Protocol):
    """The callable each hook receives: ``register(name, factory, *, summary=None)``."""

    def __call__(self, name: str, factory: Callable[..., Any] | str, *,
                 summary: str | None = None) -> None:
        """Register ``factory`` under ``name`` for the hook's kind of component.

        ``factory`` is a class or a function that builds the component from its config,
        or a ``"package.module:Name"`` string, imported only when the component is first
        built (its docstring is read from the source for ``nnframe list`` without
        importing it). ``summary`` replaces that docstring's first line. A bad name or
        factory raises `nnframe.PluginError`, which disables the plugin.
        """


def _make_spec(hook: str, plural: str, description: str, example: str):
    def spec(register: Register) -> None: ...

    spec.__name__ = spec.__qualname__ = hook
    spec.__doc__ = (f"Register {plural}: {description}. "
                    f"``register({example!r}, factory)``; ``factory(**config)`` builds one.")
    return hookspec(spec)


# One specification per kind, generated from the table, so a new kind needs no code here.
for _kind in KINDS:
    globals()[_kind.hook] = _make_spec(_kind.hook, _kind.plural, _kind.description,
                                       _kind.example)
del _kind

HOOKS: tuple[str, ...] = tuple(kind.hook for kind in KINDS)
"""The hook names, in the order of the kinds table: ``("register_layers", ...)``."""
