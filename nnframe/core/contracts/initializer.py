"""The initializer contract: how a layer's weights are drawn when it is built."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np

from nnframe.core.contracts.config import config_of
from nnframe.core.contracts.layer import Shape
from nnframe.errors import ComponentError, ConfigError


@runtime_checkable
class InitializerProtocol(Protocol):
    """What a layer needs from an initializer. Any object with these members is one.

    Layers name initializers by their registered name (``Dense(init="he_normal")``) and
    call them at build with the network's generator, so a seeded build is repeatable.
    """

    def __call__(self, shape: Shape, fan_in: int, fan_out: int, rng: np.random.Generator,
                 dtype: np.dtype) -> np.ndarray:
        """A new array of ``shape`` and ``dtype``, drawn only from ``rng``."""

    def get_config(self) -> dict[str, Any]:
        """JSON-safe constructor arguments."""


@attrs.define(eq=False)
class Initializer:
    """Optional base class for initializers: config from the attrs fields."""

    def __call__(self, shape: Shape, fan_in: int, fan_out: int, rng: np.random.Generator,
                 dtype: np.dtype) -> np.ndarray:
        """Draw an array (subclasses implement it)."""
        raise NotImplementedError(f"{type(self).__name__} must implement __call__()")

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, read from the attrs fields."""
        return config_of(self)


def check_init(instance: Any, attribute: Any, value: Any) -> None:
    """attrs validator: the registered name of an initializer."""
    from nnframe.core.registry import get_registry

    try:
        get_registry().get("initializer", value)
    except ComponentError as exc:
        raise ConfigError(f"{type(instance).__name__}: {attribute.name}: {exc}") from None


def initialize(name: str, shape: Shape, fan_in: int, fan_out: int,
               rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
    """Draw an array of ``shape`` with the initializer registered as ``name``."""
    from nnframe.core.registry import get_registry

    initializer = get_registry().create("initializer", name)
    return initializer(tuple(shape), fan_in, fan_out, rng, np.dtype(dtype))
