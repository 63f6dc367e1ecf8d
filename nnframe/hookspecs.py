"""The hook specifications every nnframe plugin implements (pluggy project ``nnframe``).

A plugin is a module (or any object) with functions marked ``@nnframe.hookimpl``. Each hook
receives a ``register(name, factory)`` callable; ``factory(**config)`` must build the
component. The built-in components are registered through these very hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

PROJECT_NAME = "nnframe"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

Register = Callable[[str, Callable[..., Any]], None]


@hookspec
def register_layers(register: Register) -> None:
    """Register layer factories: ``register("dense", Dense)``."""


@hookspec
def register_losses(register: Register) -> None:
    """Register loss factories: ``register("mse", MeanSquaredError)``."""


@hookspec
def register_optimizers(register: Register) -> None:
    """Register optimizer factories: ``register("sgd", SGD)``."""


#: Which kind of component each hook registers.
HOOK_KINDS: dict[str, str] = {
    "register_layers": "layer",
    "register_losses": "loss",
    "register_optimizers": "optimizer",
}
