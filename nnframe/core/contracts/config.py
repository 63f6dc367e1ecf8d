"""``get_config`` for free: a component's constructor arguments, read back from it."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np


def config_of(component: object, omit_defaults: Iterable[str] = ()) -> dict[str, Any]:
    """A component's constructor arguments, JSON-safe: its attrs ``init`` fields when its
    own class is an attrs class, else the parameters of its constructor read back from
    attributes of the same names.

    Arguments named in ``omit_defaults`` are left out while they hold their default: an
    argument added to a component after model files were written keeps its config, and
    so those files and their identity, as they were.

    Raises `NotImplementedError` when an argument is not kept under its own name: such a
    component must override ``get_config`` (nnframe refuses to save what it cannot rebuild).
    """
    cls = type(component)
    if "__attrs_attrs__" in vars(cls):  # this very class is an attrs class
        return {
            field.alias: json_safe(getattr(component, field.name))
            for field in attrs.fields(cls)
            if field.init and not (field.alias in omit_defaults
                                   and getattr(component, field.name) == field.default)
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
        value = getattr(component, name)
        if name in omit_defaults and value == parameter.default:
            continue
        config[name] = json_safe(value)
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
