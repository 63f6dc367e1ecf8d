"""Plugin loading and the table of registered components.

Plugins are discovered lazily, on the first lookup: the built-in plugin first (as plugin
``nnframe``), then every entry point of the group ``nnframe``. A plugin that fails to import,
names an unknown hook or raises inside a hook is recorded with its error and disabled; the
rest keep working. Names are never silently overridden: a bare name provided by several
third-party plugins is ambiguous, and the built-in keeps a name it shares with one.

A factory may be registered as ``"module:attribute"``: it is imported on first use, and its
summary for ``nnframe list`` is read from its docstring without importing it.

Components are built by name with ``nnframe.layer("dense", 784, 100)`` and friends (one
function per kind, at the end): each looks the name up (bare, or ``distribution:name``),
checks the arguments against the factory's signature and calls it. The object built is
remembered as that registered component (`component_of`), so that it can be saved and
rebuilt under its name whatever kind of factory made it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import attrs
import pluggy

from nnframe import docstrings
from nnframe._version import __version__
from nnframe.checks.plugins import (
    check_arguments,
    check_built,
    check_reference,
    unknown_component,
    unknown_hooks,
)
from nnframe.constants import (
    BUILTIN_PLUGIN,
    BUILTIN_PLUGIN_MODULE,
    ENTRY_POINT_GROUP,
    LOAD_PLUGINS_ENV,
    PROJECT_NAME,
    is_component_name,
    normalize_distribution,
)
from nnframe.core import hookspecs
from nnframe.core.kinds import KIND_NAMES, KINDS, Kind
from nnframe.core.kinds import kind as kind_named
from nnframe.errors import (
    AmbiguousComponentError,
    ConfigError,
    NNFrameError,
    PluginError,
    UnknownComponentError,
)

if TYPE_CHECKING:
    from nnframe.core.contracts import (
        Callback,
        InitializerProtocol,
        LayerProtocol,
        LossProtocol,
        MetricProtocol,
        OptimizerProtocol,
        ScheduleProtocol,
    )
    from nnframe.datasets.contract import Dataset
    from nnframe.onnx.contract import ConverterProtocol



@attrs.define(eq=False)
class Component:
    """One registered factory and who provided it.

    ``factory`` is imported on first access when it was registered as ``"module:name"``.
    """

    kind: str
    name: str
    plugin: str
    distribution: str
    version: str | None
    builtin: bool
    #: ``"module:attribute"`` for a factory registered lazily, else None
    reference: str | None = None
    _factory: Callable[..., Any] | None = attrs.field(default=None, repr=False, alias="factory")
    _summary: str | None = attrs.field(default=None, repr=False, alias="summary")

    @property
    def qualified_name(self) -> str:
        """``distribution:name``: always unambiguous."""
        return f"{self.distribution}:{self.name}"

    @property
    def loaded(self) -> bool:
        """Whether the factory is imported (or its module already is)."""
        if self._factory is not None:
            return True
        return self.reference is not None and self.reference.split(":")[0] in sys.modules

    @property
    def imported(self) -> Callable[..., Any] | None:
        """The factory if it is imported already, else None (nothing is imported)."""
        return self._factory

    @property
    def factory(self) -> Callable[..., Any]:
        if self._factory is None:
            self._factory = self._import()
        return self._factory

    def _import(self) -> Callable[..., Any]:
        module_name, _, attribute = str(self.reference).partition(":")
        try:
            value: Any = importlib.import_module(module_name)
            for part in attribute.split("."):
                value = getattr(value, part)
        except Exception as exc:  # plugin code: report it as the plugin's fault
            raise PluginError(
                f"{self.kind} {self.name!r} of {self.distribution} (plugin {self.plugin!r}) "
                f"could not be imported from {self.reference!r}: {type(exc).__name__}: {exc}"
            ) from exc
        if not callable(value):
            raise PluginError(f"{self.kind} {self.name!r} of {self.distribution}: "
                              f"{self.reference!r} is not callable")
        return value

    @property
    def summary(self) -> str:
        """The first line of the factory's documentation, read without importing it when
        it can be (`nnframe.docstrings.component_summary`)."""
        if self._summary is None:
            summary, final = docstrings.component_summary(self)
            if not final:
                return summary
            self._summary = summary
        return self._summary


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
        """As ``nnframe plugins --json`` shows it."""
        return {"name": self.name, "distribution": self.distribution, "version": self.version,
                "hooks": list(self.hooks), "builtin": self.builtin, "status": self.status,
                "error": self.error}


def _stderr_warning(message: str) -> None:
    print(f"nnframe: warning: {message}", file=sys.stderr)


def _installed_entry_points() -> Iterable[importlib.metadata.EntryPoint]:
    return importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)


class Registry:
    """The table of components, filled from plugins on first use.

    ``entry_points`` and ``warn`` can be injected (tests do); by default the installed
    distributions' entry points are read and warnings go to stderr as one line each.
    """

    def __init__(self, *, entry_points: Callable[[], Iterable[Any]] = _installed_entry_points,
                 warn: Callable[[str], None] = _stderr_warning, load_plugins: str | None = None,
                 environ: dict[str, str] | None = None) -> None:
        self._entry_points = entry_points
        self._warn = warn
        env = os.environ if environ is None else environ
        self._load_plugins = load_plugins if load_plugins is not None else env.get(LOAD_PLUGINS_ENV)
        self._manager = pluggy.PluginManager(PROJECT_NAME)
        self._manager.add_hookspecs(hookspecs)
        self._plugins: dict[str, PluginInfo] = {}
        self._table: dict[str, dict[str, list[Component]]] = {k: {} for k in KIND_NAMES}
        #: id of an object built by `create` -> (weak reference, its component)
        self._origins: dict[int, tuple[weakref.ref, Component]] = {}
        self._loaded = False

    # -- loading -------------------------------------------------------------------------

    def load(self) -> Registry:
        """Load the built-in plugin and the selected entry points (once)."""
        if self._loaded:
            return self
        self._loaded = True
        # named, not imported here: the core imports no component (pytest's own
        # features are plugins loaded the same way)
        self._add_plugin(importlib.import_module(BUILTIN_PLUGIN_MODULE),
                         PluginInfo(BUILTIN_PLUGIN, BUILTIN_PLUGIN, __version__, builtin=True))
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
        info = PluginInfo(name=entry_point.name, distribution=_dist_name(entry_point),
                          version=_dist_version(entry_point))
        try:
            plugin = entry_point.load()
        except (Exception, SystemExit) as exc:
            self._fail(info, f"import of {entry_point.value!r} failed: {_describe(exc)}")
            return
        self._add_plugin(plugin, info)

    def register_plugin(self, plugin: object, name: str, *, distribution: str | None = None,
                        version: str | None = None) -> PluginInfo:
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
        unknown = unknown_hooks(plugin)
        if unknown:
            self._fail(info, "; ".join(unknown))
            return
        try:
            self._manager.register(plugin, name=key)
        except (Exception, SystemExit) as exc:
            self._fail(info, f"invalid hook implementation: {_describe(exc)}")
            return
        staged: list[Component] = []
        for kind in KINDS:
            caller = getattr(self._manager.hook, kind.hook)
            for impl in caller.get_hookimpls():
                if impl.plugin_name != key:
                    continue
                info.hooks.append(kind.hook)
                register = self._register_callback(kind, info, staged)
                try:
                    impl.function(**{arg: register for arg in impl.argnames})
                except (Exception, SystemExit) as exc:
                    self._manager.unregister(name=key)
                    self._fail(info, f"hook {kind.hook} raised {_describe(exc)}")
                    return
        for component in staged:
            self._insert(component)

    def _register_callback(self, kind: Kind, info: PluginInfo, staged: list[Component]
                           ) -> Callable[..., None]:
        def register(name: str, factory: Callable[..., Any] | str, *,
                     summary: str | None = None) -> None:
            if not is_component_name(name):
                raise PluginError(f"invalid {kind.name} name {name!r}: start with a letter "
                                  "or _, then letters, digits, _, . or -")
            reference = None
            if isinstance(factory, str):
                reference, factory = check_reference(kind, name, factory), None
            elif not callable(factory):
                raise PluginError(f"the factory for {kind.name} {name!r} is not callable "
                                  f"(got {type(factory).__name__}); register a class, a "
                                  "function or a 'module:attribute' string")
            if summary is not None and not isinstance(summary, str):
                raise PluginError(f"the summary of {kind.name} {name!r} must be a string")
            if any(c.kind == kind.name and c.name == name for c in staged):
                raise PluginError(f"{kind.name} {name!r} is registered twice by the same "
                                  "plugin")
            staged.append(Component(
                kind=kind.name, name=name, plugin=info.name, distribution=info.distribution,
                version=info.version, builtin=info.builtin, reference=reference,
                factory=factory, summary=summary))

        return register

    def _insert(self, component: Component) -> None:
        providers = self._table[component.kind].setdefault(component.name, [])
        builtin = next((c for c in providers if c.builtin), None)
        if builtin is not None and not component.builtin and not kind_named(
                component.kind).alternatives:
            self._warn(f"plugin {component.plugin!r} ({component.distribution}) also provides "
                       f"{component.kind} {component.name!r}; the built-in keeps that name, "
                       f"use {component.qualified_name!r} for the plugin's")
        providers.append(component)

    def _fail(self, info: PluginInfo, message: str) -> None:
        self._plugins.setdefault(_plugin_key(info), info)
        info.status = "error"
        info.error = message
        info.hooks.clear()
        self._warn(f"plugin {info.name!r} ({info.distribution}) is disabled: {message} "
                   "(see `nnframe plugins`)")

    # -- queries -------------------------------------------------------------------------

    def plugins(self) -> list[PluginInfo]:
        """Every plugin, built-in first, with its status."""
        return list(self.load()._plugins.values())

    def components(self, kind: str | None = None) -> list[Component]:
        """Every registered component (of one kind), sorted by kind and name."""
        self.load()
        kinds = KIND_NAMES if kind is None else (_check_kind(kind).name,)
        return [component for k in kinds for name in sorted(self._table[k])
                for component in self._table[k][name]]

    def get(self, kind: str, name: str) -> Component:
        """Resolve a bare or qualified (``distribution:name``) component name."""
        self.load()
        kind = _check_kind(kind).name
        table = self._table[kind]
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
        broken = [p.name for p in self._plugins.values() if p.status == "error"]
        return unknown_component(kind, name, available, broken)

    def find(self, kind: str, factory: Callable[..., Any]) -> Component | None:
        """The component registered with this factory, if any (the built-in first)."""
        self.load()
        matches = [c for providers in self._table[_check_kind(kind).name].values()
                   for c in providers if c.loaded and c.factory is factory]
        builtin = [c for c in matches if c.builtin]
        return (builtin or matches or [None])[0]

    def identify(self, kind: str, component: object) -> Component | None:
        """Under which registered name ``component`` can be saved and rebuilt.

        An object built through the registry (`create`, ``nnframe.layer(...)``, a config)
        is known by the name it was built under, whatever its factory; any other object by
        its class, when that class is itself a registered factory.
        """
        origin = self._origins.get(id(component))
        if origin is not None and origin[0]() is component and origin[1].kind == kind:
            return origin[1]
        return self.find(kind, type(component))

    def create(self, kind: str, name: str, *args: Any, **kwargs: Any) -> Any:
        """Build a component by name, checking the arguments against its signature."""
        component = self.get(kind, name)
        check_arguments(component, args, kwargs)
        try:
            built = component.factory(*args, **kwargs)
        except NNFrameError:
            raise
        except MemoryError:
            raise ConfigError(f"{kind} {name!r}: not enough memory to create it with these "
                              "arguments; check its sizes") from None
        except Exception as exc:  # a plugin's factory is a guest: name it, as the CLI does
            if component.builtin:
                raise
            raise PluginError(f"{kind} {name!r} of {component.distribution} (plugin "
                              f"{component.plugin!r}) could not be created: "
                              f"{type(exc).__name__}: {exc}") from exc
        check_built(component, built)
        self.remember(built, component)
        return built

    def remember(self, built: object, component: Component) -> None:
        """Record that ``built`` was made by ``component`` (see `identify`)."""
        key = id(built)
        try:
            reference = weakref.ref(built, lambda _, key=key: self._origins.pop(key, None))
        except TypeError:  # not weakly referable: it is then identified by its class
            return
        self._origins[key] = (reference, component)


def _plugin_key(info: PluginInfo) -> str:
    return info.name if info.builtin else f"{info.distribution}:{info.name}"


def _check_kind(kind: str) -> Kind:
    try:
        return kind_named(kind)
    except ValueError as exc:
        raise UnknownComponentError(str(exc)) from None


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


def create(kind: str, name: str, *args: Any, **kwargs: Any) -> Any:
    """Build a component of any kind by registered name: ``create("metric", "f1")``."""
    return get_registry().create(kind, name, *args, **kwargs)


# -- which registered component an object is (messages, summaries, model files) ------


def component_of(kind: str, component: object) -> Component | None:
    """The registered component ``component`` was built as (see `Registry.identify`)."""
    return get_registry().identify(kind, component)


def component_name(kind: str, component: object) -> str:
    """The registered name of a component (``dense``), else its class name."""
    found = component_of(kind, component)
    return found.name if found is not None else type(component).__name__


def layer_label(index: int | str, layer: object) -> str:
    """How errors name a layer: ``layer 3 (conv2d from nnframe-conv)``; built-ins and
    unregistered classes without the distribution: ``layer 0 (dense)``."""
    found = component_of("layer", layer)
    if found is None:
        return f"layer {index} ({type(layer).__name__})"
    origin = "" if found.builtin else f" from {found.distribution}"
    return f"layer {index} ({found.name}{origin})"


def children(layer: Any) -> list[tuple[str, Any]]:
    """The layers a composite layer holds, keyed as in its parameter keys: ``"1"`` for
    ``layers[1]``, ``"0.2"`` for ``branches[0][2]``, or the names a layer that builds its
    own inner layers from its config gives through ``inner_layers()`` (``"attention"``
    for nnframe-attention's ``transformer_encoder``); empty for other layers."""
    named = getattr(layer, "inner_layers", None)
    if callable(named):
        return [(str(key), child) for key, child in named()]
    inner = getattr(layer, "layers", None)
    if isinstance(inner, (list, tuple)):
        return [(str(i), child) for i, child in enumerate(inner)]
    branches = getattr(layer, "branches", None)
    if isinstance(branches, (list, tuple)):
        return [(f"{b}.{i}", child) for b, branch in enumerate(branches)
                for i, child in enumerate(branch)]
    return []


# -- building components by name: nnframe.layer(...) and friends -----------------------


def layer(name: str, *args: Any, **kwargs: Any) -> LayerProtocol:
    """A layer by registered name: ``nnframe.layer("dense", 784, 100)``."""
    return create("layer", name, *args, **kwargs)


def loss(name: str, **kwargs: Any) -> LossProtocol:
    """A loss by registered name: ``nnframe.loss("cross_entropy")``."""
    return create("loss", name, **kwargs)


def optimizer(name: str, **kwargs: Any) -> OptimizerProtocol:
    """An optimizer by registered name: ``nnframe.optimizer("sgd", learning_rate=0.1)``."""
    return create("optimizer", name, **kwargs)


def initializer(name: str, **kwargs: Any) -> InitializerProtocol:
    """An initializer by registered name: ``nnframe.initializer("he_normal")``."""
    return create("initializer", name, **kwargs)


def metric(name: str, **kwargs: Any) -> MetricProtocol:
    """A metric by registered name: ``nnframe.metric("top_k_accuracy", k=3)``."""
    return create("metric", name, **kwargs)


def schedule(name: str, **kwargs: Any) -> ScheduleProtocol:
    """A learning-rate schedule by registered name: ``nnframe.schedule("cosine")``."""
    return create("schedule", name, **kwargs)


def callback(name: str, **kwargs: Any) -> Callback:
    """A training callback by registered name: ``nnframe.callback("early_stopping")``."""
    return create("callback", name, **kwargs)


def dataset(name: str, **kwargs: Any) -> Dataset:
    """A data set by registered name: ``nnframe.dataset("mnist_sample").load("train")``."""
    return create("dataset", name, **kwargs)


def converter(name: str, **kwargs: Any) -> ConverterProtocol:
    """An ONNX converter by registered name (that of the layer it converts):
    ``nnframe.converter("dense")``. `nnframe.onnx` finds them itself when exporting."""
    return create("converter", name, **kwargs)
