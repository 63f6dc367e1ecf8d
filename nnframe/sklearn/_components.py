"""Turning the estimators' parameters (registered names, TOML-style dicts) into components.

Parameters stay plain data, as scikit-learn requires (``clone`` copies them, grid searches
set them): a layer, loss or optimizer is a registered name (``"relu"``) or a dict with its
``type`` and arguments (``{"type": "dense", "output_size": 64}``), the same tables a
training config holds. Fresh components are built from them on every fresh fit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nnframe.core import registry
from nnframe.core.contracts import LayerProtocol
from nnframe.errors import ConfigError, NNFrameError


def component(kind: str, spec: Any, where: str) -> Any:
    """A fresh ``kind`` component from a registered name or a dict with a ``type``."""
    name, arguments = _name_and_arguments(kind, spec, where)
    if kind == "layer":
        arguments = {key: _nested_layers(value, f"{where}.{key}")
                     for key, value in arguments.items()}
    try:
        return registry.get_registry().create(kind, name, **arguments)
    except NNFrameError as exc:
        raise type(exc)(f"{where}: {exc}") from None


def _name_and_arguments(kind: str, spec: Any, where: str) -> tuple[str, dict[str, Any]]:
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, Mapping):
        arguments = dict(spec)
        name = arguments.pop("type", None)
        if isinstance(name, str):
            return name, arguments
    example = {"layer": "{'type': 'dense', 'output_size': 64}",
               "loss": "{'type': 'huber', 'delta': 1.0}",
               "optimizer": "{'type': 'adamw', 'weight_decay': 0.01}"}[kind]
    raise ConfigError(f"{where}: give a registered {kind} name or a dict with its 'type' "
                      f"and arguments, such as {example}; got {spec!r}")


def _nested_layers(value: Any, where: str) -> Any:
    """Layer tables inside a layer's arguments (a composite's ``layers`` or ``branches``)
    become layers, as in a training config; any other value is passed on unchanged."""
    if isinstance(value, Mapping) and "type" in value:
        return component("layer", value, where)
    if isinstance(value, list) and value and all(_holds_layer_tables(v) for v in value):
        return [_nested_layers(item, f"{where}[{index}]") for index, item in enumerate(value)]
    return value


def _holds_layer_tables(value: Any) -> bool:
    if isinstance(value, Mapping):
        return "type" in value
    return isinstance(value, list) and bool(value) and all(map(_holds_layer_tables, value))


def hidden_layers(layers: Sequence[Any] | None, sizes: Any,
                  activation: str) -> list[LayerProtocol]:
    """The layers before the output layer: ``layers`` when given, else a ``dense`` layer of
    each size in ``sizes``, each followed by ``activation``."""
    if layers is not None:
        if isinstance(layers, (str, Mapping)) or not isinstance(layers, Sequence):
            raise ConfigError(f"layers must be a list of layer names or dicts, got {layers!r}")
        return [component("layer", spec, f"layers[{index}]") for index, spec in enumerate(layers)]
    built = []
    for index, size in enumerate(_sizes(sizes)):
        built.append(component("layer", {"type": "dense", "output_size": size},
                               f"hidden_layers[{index}]"))
        built.append(component("layer", activation, "activation"))
    return built


def _sizes(sizes: Any) -> list[int]:
    values = [sizes] if isinstance(sizes, (int, np.integer)) else sizes
    if isinstance(values, np.ndarray) and values.ndim == 1:
        values = values.tolist()
    message = (f"hidden_layers must be a tuple of positive layer sizes, such as (100,), "
               f"got {sizes!r}")
    if isinstance(values, (str, Mapping)) or not isinstance(values, Sequence):
        raise ConfigError(message)
    for size in values:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ConfigError(message)
    return [int(size) for size in values]
