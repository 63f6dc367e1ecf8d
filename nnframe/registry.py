"""Plugin loading and the table of registered components.

Plugins are discovered lazily, on the first lookup: the built-in plugin first (as plugin
``nnframe``), then every entry point of the group ``nnframe``. A plugin that fails to import,
names an unknown hook or raises inside a hook is recorded with its error and disabled; the
rest keep working. Names are never silently overridden.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import inspect
import os
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import pluggy

from nnframe import hookspecs
from nnframe._version import __version__
from nnframe.errors import (
    AmbiguousComponentError,
    ConfigError,
    PluginError,
    UnknownComponentError,
)

KINDS = ("layer", "loss", "optimizer")
BUILTIN_PLUGIN = "nnframe"
ENTRY_POINT_GROUP = "nnframe"
LOAD_PLUGINS_ENV = "NNFRAME_LOAD_PLUGINS"
_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def normalize_distribution(name: str) -> str:
    """PEP 503 normal form, so ``nnframe_conv`` and ``nnframe-conv`` are the same plugin."""
    return re.sub(r"[-_.]+", "-", name).lower()


def first_line(text: str | None) -> str:
    """The first non-empty line of a docstring, or ``""``."""
    for line in (text or "").strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


@attrs.frozen
class Component:
    """One registered factory and who provided it."""

    kind: str
    name: str
    factory: Callable[..., Any] = attrs.field(repr=False)
    plugin: str
    distribution: str
    version: str | None
    builtin: bool

    @property
    def qualified_name(self) -> str:
        """``distribution:name``: always unambiguous."""
        return f"{self.distribution}:{self.name}"

    @property
    def summary(self) -> str:
        return first_line(getattr(self.factory, "__doc__", None))


@attrs.define
class PluginInfo:
    """A loaded (or failed) plugin, as `nnframe plugins` shows it."""

    name: str
    distribution: str
    version: str | None
    builtin: bool = False
    hooks: list[str] = attrs.Factory(list)
    status: str = "ok"
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "hooks": list(self.hooks),
            "builtin": self.builtin,
            "status": self.status,
            "error": self.error,
        }


def _stderr_warning(message: str) -> None:
    print(f"nnframe: warning: {message}", file=sys.stderr)


def _installed_entry_points() -> Iterable[importlib.metadata.EntryPoint]:
    return importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)


class Registry:
    """The table of components, filled from plugins on first use.

    ``entry_points`` and ``warn`` can be injected (tests do); by default the installed
    distributions' entry points are read and warnings go to stderr as one line each.
    """

    def __init__(
        self,
        *,
        entry_points: Callable[[], Iterable[Any]] = _installed_entry_points,
        warn: Callable[[str], None] = _stderr_warning,
        load_plugins: str | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        self._entry_points = entry_points
        self._warn = warn
        env = os.environ if environ is None else environ
        self._load_plugins = load_plugins if load_plugins is not None else env.get(LOAD_PLUGINS_ENV)
        self._manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._manager.add_hookspecs(hookspecs)
        self._plugins: dict[str, PluginInfo] = {}
        self._table: dict[str, dict[str, list[Component]]] = {kind: {} for kind in KINDS}
        self._loaded = False

    # -- loading -------------------------------------------------------------------------

    def load(self) -> Registry:
        """Load the built-in plugin and the selected entry points (once)."""
        if self._loaded:
            return self
        self._loaded = True
        from nnframe import builtin_plugin

        self._add_plugin(
            builtin_plugin,
            PluginInfo(BUILTIN_PLUGIN, BUILTIN_PLUGIN, __version__, builtin=True),
        )
        for entry_point in self._selected_entry_points():
            self._load_entry_point(entry_point)
        return self

    def _selected_entry_points(self) -> list[Any]:
        wanted = self._load_plugins
        try:
            found = list(self._entry_points())
        except Exception as exc:  # a corrupt installation must not break nnframe
            self._warn(f"could not read installed plugins: {exc}")
            return []
        if wanted is None:
            return found
        names = {normalize_distribution(n.strip()) for n in wanted.split(",") if n.strip()}
        return [ep for ep in found if normalize_distribution(_dist_name(ep)) in names]

    def _load_entry_point(self, entry_point: Any) -> None:
        info = PluginInfo(
            name=entry_point.name,
            distribution=_dist_name(entry_point),
            version=_dist_version(entry_point),
        )
        try:
            plugin = entry_point.load()
        except (Exception, SystemExit) as exc:
            self._fail(info, f"import of {entry_point.value!r} failed: {_describe(exc)}")
            return
        self._add_plugin(plugin, info)

    def register_plugin(
        self,
        plugin: object,
        name: str,
        *,
        distribution: str | None = None,
        version: str | None = None,
    ) -> PluginInfo:
        """Register an in-process plugin (a module or object with hook implementations)."""
        self.load()
        info = PluginInfo(name=name, distribution=distribution or name, version=version)
        if _plugin_key(info) in self._plugins:
            raise PluginError(f"a plugin named {name!r} is already registered")
        self._add_plugin(plugin, info)
        return info

    def _add_plugin(self, plugin: object, info: PluginInfo) -> None:
        key = _plugin_key(info)
        if key in self._plugins or self._manager.has_plugin(key):
            self._warn(f"plugin {info.name!r} of {info.distribution} is installed twice; "
                       "the second copy is ignored")
            return
        self._plugins[key] = info
        unknown = _unknown_hooks(plugin)
        if unknown:
            self._fail(info, "; ".join(unknown))
            return
        try:
            self._manager.register(plugin, name=key)
        except (Exception, SystemExit) as exc:
            self._fail(info, f"invalid hook implementation: {_describe(exc)}")
            return
        staged: list[Component] = []
        for hook_name, kind in hookspecs.HOOK_KINDS.items():
            caller = getattr(self._manager.hook, hook_name)
            for impl in caller.get_hookimpls():
                if impl.plugin_name != key:
                    continue
                info.hooks.append(hook_name)
                register = self._register_callback(kind, info, staged)
                try:
                    impl.function(**{arg: register for arg in impl.argnames})
                except (Exception, SystemExit) as exc:
                    self._manager.unregister(name=key)
                    self._fail(info, f"hook {hook_name} raised {_describe(exc)}")
                    return
        for component in staged:
            self._insert(component)

    def _register_callback(
        self, kind: str, info: PluginInfo, staged: list[Component]
    ) -> Callable[[str, Callable[..., Any]], None]:
        def register(name: str, factory: Callable[..., Any]) -> None:
            if not isinstance(name, str) or not _NAME_PATTERN.match(name):
                raise PluginError(f"invalid {kind} name {name!r}: use letters, digits and _")
            if not callable(factory):
                raise PluginError(f"the factory for {kind} {name!r} is not callable")
            if any(c.kind == kind and c.name == name for c in staged):
                raise PluginError(f"{kind} {name!r} is registered twice by the same plugin")
            staged.append(
                Component(
                    kind=kind,
                    name=name,
                    factory=factory,
                    plugin=info.name,
                    distribution=info.distribution,
                    version=info.version,
                    builtin=info.builtin,
                )
            )

        return register

    def _insert(self, component: Component) -> None:
        providers = self._table[component.kind].setdefault(component.name, [])
        builtin = next((c for c in providers if c.builtin), None)
        if builtin is not None and not component.builtin:
            self._warn(
                f"plugin {component.plugin!r} ({component.distribution}) also provides "
                f"{component.kind} {component.name!r}; the built-in keeps that name, "
                f"use {component.qualified_name!r} for the plugin's"
            )
        providers.append(component)

    def _fail(self, info: PluginInfo, message: str) -> None:
        self._plugins.setdefault(_plugin_key(info), info)
        info.status = "error"
        info.error = message
        info.hooks.clear()
        self._warn(
            f"plugin {info.name!r} ({info.distribution}) is disabled: {message} "
            "(see `nnframe plugins`)"
        )

    # -- queries -------------------------------------------------------------------------

    def plugins(self) -> list[PluginInfo]:
        """Every plugin, built-in first, with its status."""
        return list(self.load()._plugins.values())

    def components(self, kind: str | None = None) -> list[Component]:
        """Every registered component (of one kind), sorted by kind and name."""
        self.load()
        kinds = KINDS if kind is None else (_check_kind(kind),)
        return [
            component
            for k in kinds
            for name in sorted(self._table[k])
            for component in self._table[k][name]
        ]

    def get(self, kind: str, name: str) -> Component:
        """Resolve a bare or qualified (``distribution:name``) component name."""
        self.load()
        table = self._table[_check_kind(kind)]
        if not isinstance(name, str):
            raise UnknownComponentError(f"a {kind} name must be a string, got {name!r}")
        if ":" in name:
            distribution, bare = name.split(":", 1)
            wanted = normalize_distribution(distribution)
            for component in table.get(bare, []):
                if normalize_distribution(component.distribution) == wanted:
                    return component
            raise self._unknown(kind, name, [c.qualified_name for c in self.components(kind)])
        providers = table.get(name, [])
        if len(providers) == 1:
            return providers[0]
        if not providers:
            raise self._unknown(kind, name, sorted(table))
        builtin = [c for c in providers if c.builtin]
        if builtin:
            return builtin[0]
        listing = ", ".join(f"{c.qualified_name} (plugin {c.plugin!r})" for c in providers)
        raise AmbiguousComponentError(
            f"{kind} {name!r} is provided by several plugins: {listing}; "
            "ask for one of these qualified names instead"
        )

    def _unknown(self, kind: str, name: str, available: list[str]) -> UnknownComponentError:
        close = difflib.get_close_matches(name, available, n=3, cutoff=0.6)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        broken = [p.name for p in self._plugins.values() if p.status == "error"]
        note = (
            f" Plugins that failed to load: {', '.join(broken)} (see `nnframe plugins`)."
            if broken
            else ""
        )
        return UnknownComponentError(
            f"unknown {kind} {name!r}.{hint} Available {kind}s: "
            f"{', '.join(available) or 'none'}.{note}"
        )

    def find(self, kind: str, factory: Callable[..., Any]) -> Component | None:
        """The component registered with this factory (for saving models), if any."""
        self.load()
        matches = [
            c for providers in self._table[_check_kind(kind)].values() for c in providers
            if c.factory is factory
        ]
        builtin = [c for c in matches if c.builtin]
        return (builtin or matches or [None])[0]

    def create(self, kind: str, name: str, *args: Any, **kwargs: Any) -> Any:
        """Build a component by name, checking the arguments against its signature."""
        component = self.get(kind, name)
        check_arguments(component, args, kwargs)
        return component.factory(*args, **kwargs)


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


def _unknown_hooks(plugin: object) -> list[str]:
    """Messages for functions marked as hooks whose names are not hook specifications."""
    marker = f"{hookspecs.PROJECT_NAME}_impl"
    problems = []
    for attr in dir(plugin):
        try:
            value = getattr(plugin, attr)
        except Exception:
            continue
        if attr in hookspecs.HOOK_KINDS or not hasattr(value, marker):
            continue
        close = difflib.get_close_matches(attr, list(hookspecs.HOOK_KINDS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(f"unknown hook {attr!r}{hint}")
    return problems


def _plugin_key(info: PluginInfo) -> str:
    return info.name if info.builtin else f"{info.distribution}:{info.name}"


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise UnknownComponentError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    return kind


def _dist_name(entry_point: Any) -> str:
    dist = getattr(entry_point, "dist", None)
    return dist.name if dist is not None and dist.name else entry_point.name


def _dist_version(entry_point: Any) -> str | None:
    dist = getattr(entry_point, "dist", None)
    return dist.version if dist is not None else None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, loaded on first use."""
    global _registry
    if _registry is None:
        _registry = Registry()
    return _registry.load()


def reset_registry(registry: Registry | None = None) -> None:
    """Forget the process-wide registry (or replace it); the next lookup reloads plugins."""
    global _registry
    _registry = registry


def layer(name: str, *args: Any, **kwargs: Any) -> Any:
    """Build a layer by registered name: ``nnframe.layer("dense", 784, 100)``."""
    return get_registry().create("layer", name, *args, **kwargs)


def loss(name: str, **kwargs: Any) -> Any:
    """Build a loss by registered name: ``nnframe.loss("mse")``."""
    return get_registry().create("loss", name, **kwargs)


def optimizer(name: str, **kwargs: Any) -> Any:
    """Build an optimizer by registered name: ``nnframe.optimizer("sgd", learning_rate=0.1)``."""
    return get_registry().create("optimizer", name, **kwargs)
