"""``get_config`` for free: a component's constructor arguments, read back from it."""

from __future__ import annotations

import inspect
from typing import Any

import attrs
import numpy as np


def config_of(component: object) -> dict[str, Any]:
    """A component's constructor arguments, JSON-safe: its attrs ``init`` fields when its
    own class is an attrs class, else the parameters of its constructor read back from
    attributes of the same names.

    Raises `NotImplementedError` when an argument is not kept under its own name: such a
    component must override ``get_config`` (nnframe refuses to save what it cannot rebuild).
    """
    cls = type(component)
    if "__attrs_attrs__" in vars(cls):  # this very class is an attrs class
        return {
            field.alias: json_safe(getattr(component, field.name))
            for field in attrs.fields(cls)
            if field.init
        }
    config = {}
    for name, parameter in inspect.signature(cls).parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if not hasattr(component, name):
            raise NotImplementedError(
                f"{cls.__name__} keeps its constructor argument {name!r} under another "
                "name, so its config cannot be read back; store it as self."
                f"{name}, make the class an attrs class, or override get_config()"
            )
        config[name] = json_safe(getattr(component, name))
    return config


def json_safe(value: Any) -> Any:
    """Tuples as lists and NumPy scalars as Python numbers, recursively."""
    if isinstance(value, (tuple, list)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value
