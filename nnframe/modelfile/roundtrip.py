"""Can a component be rebuilt from its config? Model files and the kit both ask.

A model file stores a component as its registered name and ``get_config()``; loading
calls the registered factory with that config. That is only right when the rebuilt
component equals the original: a layer computes the same outputs from the same weights
and state, a loss or optimizer has the same settings. `layer_mismatch` and
`setting_mismatch` say what differs, so that saving refuses what it cannot rebuild.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from nnframe.core.registry import children

#: Relative difference of outputs tolerated between a layer and its rebuilt twin (both
#: compute the same thing; the tolerance only absorbs summation order in threaded BLAS).
OUTPUT_TOLERANCE = 1e-5


def config_text(component: Any) -> str:
    """``get_config()`` as canonical JSON; `ValueError` or `TypeError` if it is not JSON."""
    config = component.get_config()
    if not isinstance(config, dict) or not all(isinstance(key, str) for key in config):
        raise TypeError(f"get_config() must return a dict with string keys, got {config!r}")
    return json.dumps(config, sort_keys=True, allow_nan=True)


def rebuild(component: Any, factory: Callable[..., Any]) -> Any:
    """The component ``factory`` makes from ``component``'s config, after a JSON round trip."""
    return factory(**json.loads(config_text(component)))


def layer_mismatch(original: Any, rebuilt: Any, input_shape: tuple[int, ...],
                   probe: np.ndarray, dtype: np.dtype) -> str | None:
    """What differs between a built layer and its unbuilt twin rebuilt from its config, or
    None. The twin is built for ``input_shape``, given the original's parameters and state,
    and both run ``probe`` in inference; a probe the original itself rejects proves
    nothing, and only the parameter shapes are then compared."""
    rebuilt.build(input_shape, np.random.default_rng(0), dtype)
    mine, theirs = config_text(original), config_text(rebuilt)
    if mine != theirs:
        return f"its own config is {theirs}"
    problem = _copy_arrays(original, rebuilt)
    if problem is not None:
        return problem
    try:
        expected = np.asarray(original.forward(probe, training=False))
    except Exception:
        return None
    got = np.asarray(rebuilt.forward(probe, training=False))
    if got.shape != expected.shape:
        return f"its outputs have shape {got.shape[1:]} instead of {expected.shape[1:]}"
    finite = np.abs(expected[np.isfinite(expected)])
    scale = max(float(np.max(finite, initial=0.0)), 1e-6)
    close = np.isclose(got, expected, rtol=0.0, atol=OUTPUT_TOLERANCE * scale, equal_nan=True)
    if not close.all():
        difference = float(np.max(np.abs(got - expected)[~close]))
        return (f"on the same inputs and weights its outputs differ by up to {difference:.3g} "
                "from the original's")
    return None


def _copy_arrays(original: Any, rebuilt: Any) -> str | None:
    for which in ("params", "state"):
        mine = getattr(original, which, {}) or {}
        theirs = getattr(rebuilt, which, {}) or {}
        if set(mine) != set(theirs):
            return f"it has {which} {sorted(theirs)} instead of {sorted(mine)}"
        for name, value in mine.items():
            target = theirs[name]
            if np.shape(target) != np.shape(value):
                return (f"its {which}[{name!r}] has shape {np.shape(target)} instead of "
                        f"{np.shape(value)}")
            np.copyto(target, value)
    return None


def setting_mismatch(original: Any, rebuilt: Any) -> str | None:
    """What differs between the public settings of a loss, optimizer or metric and of its
    twin rebuilt from its config (numbers, strings, booleans and None), or None."""
    mine, theirs = _settings(original), _settings(rebuilt)
    for name in sorted(set(mine) | set(theirs)):
        a, b = mine.get(name), theirs.get(name)
        if not _same(a, b):
            return f"its {name} is {b!r} instead of {a!r}"
    return None


def _settings(component: Any) -> dict[str, Any]:
    """Public plain values: an attrs class's constructor fields, or else every public
    attribute (where a plain class keeps its arguments, under whatever names)."""
    cls = type(component)
    if attrs.has(cls):
        values = {field.name: getattr(component, field.name) for field in attrs.fields(cls)
                  if field.init and not field.name.startswith("_")}
        return {name: value for name, value in values.items()
                if value is None or isinstance(value, (bool, int, float, str))}
    try:
        attributes = dict(vars(component))
    except TypeError:  # slotted classes: read the slots
        attributes = {}
        for cls in type(component).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if hasattr(component, slot):
                    attributes[slot] = getattr(component, slot)
    return {name: value for name, value in attributes.items()
            if not name.startswith("_") and name not in ("state", "iterations")
            and (value is None or isinstance(value, (bool, int, float, str)))}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def nested(layer: Any) -> tuple[str, list[Any]] | None:
    """``("layers", [...])`` or ``("branches", [[...], ...])`` for a composite layer."""
    if not children(layer) or callable(getattr(layer, "inner_layers", None)):
        return None  # a layer that builds its inner layers: its own config rebuilds them
    if isinstance(getattr(layer, "layers", None), (list, tuple)):
        return "layers", list(layer.layers)
    return "branches", [list(branch) for branch in layer.branches]
