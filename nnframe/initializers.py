"""Weight initialisers, by name: each draws from the network's Generator in the layer's dtype."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from nnframe.contracts import Shape

Initializer = Callable[[Shape, int, int, np.random.Generator, np.dtype], np.ndarray]


def glorot_uniform(shape, fan_in, fan_out, rng, dtype):
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype, copy=False)


def glorot_normal(shape, fan_in, fan_out, rng, dtype):
    std = math.sqrt(2.0 / (fan_in + fan_out))
    return (rng.standard_normal(size=shape) * std).astype(dtype, copy=False)


def he_uniform(shape, fan_in, fan_out, rng, dtype):
    limit = math.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype, copy=False)


def he_normal(shape, fan_in, fan_out, rng, dtype):
    std = math.sqrt(2.0 / fan_in)
    return (rng.standard_normal(size=shape) * std).astype(dtype, copy=False)


def zeros(shape, fan_in, fan_out, rng, dtype):
    return np.zeros(shape, dtype=dtype)


def seed_uniform(shape, fan_in, fan_out, rng, dtype):
    """U(-0.5, 0.5), as the original from-scratch code (``np.random.rand(...) - 0.5``)."""
    return (rng.random(size=shape) - 0.5).astype(dtype, copy=False)


INITIALIZERS: dict[str, Initializer] = {
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "zeros": zeros,
    "seed_uniform": seed_uniform,
}


def check_init(instance, attribute, value) -> None:
    """attrs validator: the name of a known initialiser."""
    from nnframe.errors import ConfigError

    if value not in INITIALIZERS:
        raise ConfigError(
            f"{type(instance).__name__}: unknown {attribute.name} {value!r}; "
            f"choose one of {', '.join(INITIALIZERS)}"
        )


def initialize(name: str, shape: Shape, fan_in: int, fan_out: int,
               rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
    """Draw an array of ``shape`` with the named initialiser."""
    return INITIALIZERS[name](tuple(shape), fan_in, fan_out, rng, np.dtype(dtype))
