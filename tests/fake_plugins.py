"""In-process stand-ins for installed plugin distributions, for registry tests."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import attrs

import nnframe


@attrs.define
class FakeDistribution:
    name: str
    version: str = "1.0"


@attrs.define
class FakeEntryPoint:
    """What the registry uses of an importlib.metadata.EntryPoint."""

    name: str
    target: Any  # the plugin object, or an exception to raise on load
    dist: FakeDistribution
    value: str = "fake_module"

    def load(self) -> Any:
        if isinstance(self.target, BaseException):
            raise self.target
        return self.target


def plugin_module(name: str, **hooks: Callable[..., Any]) -> types.ModuleType:
    """A module object whose functions are marked as nnframe hook implementations."""
    module = types.ModuleType(name)
    for hook_name, function in hooks.items():
        setattr(module, hook_name, nnframe.hookimpl(function))
    return module


def layers_plugin(name: str, *layer_names: str, factory: Any = None) -> types.ModuleType:
    """A plugin that registers each name as a layer (a Tanh subclass by default)."""
    from nnframe.layers.activations import Tanh

    def register_layers(register):
        for layer_name in layer_names:
            register(layer_name, factory or type(f"Plugin_{layer_name}", (Tanh,), {}))

    return plugin_module(name, register_layers=register_layers)


def entry_point(distribution: str, target: Any, name: str | None = None,
                version: str = "1.0") -> FakeEntryPoint:
    return FakeEntryPoint(name or distribution.replace("-", "_"), target,
                          FakeDistribution(distribution, version))
