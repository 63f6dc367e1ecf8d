"""Which registered component an object is, for messages, summaries and model files."""

from __future__ import annotations

from typing import Any

from nnframe.core.registry import Component, get_registry


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
