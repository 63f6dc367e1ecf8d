"""Weight initializers, registered by name: each draws from the network's generator in the
layer's dtype.

Layers take an initializer's registered name (``Dense(init="he_normal")``), check it with
the `check_init` validator and draw with `initialize`; plugins add initializers through
``register_initializers``.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from nnframe.arguments import to_float
from nnframe.contracts import Initializer, Shape
from nnframe.errors import ComponentError, ConfigError


@attrs.define(eq=False)
class GlorotUniform(Initializer):
    """Glorot (Xavier) uniform: U(-l, l) with l = sqrt(6 / (fan_in + fan_out))."""

    def __call__(self, shape, fan_in, fan_out, rng, dtype):
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=shape).astype(dtype, copy=False)


@attrs.define(eq=False)
class GlorotNormal(Initializer):
    """Glorot (Xavier) normal: N(0, 2 / (fan_in + fan_out))."""

    def __call__(self, shape, fan_in, fan_out, rng, dtype):
        std = math.sqrt(2.0 / (fan_in + fan_out))
        return (rng.standard_normal(size=shape) * std).astype(dtype, copy=False)


@attrs.define(eq=False)
class HeUniform(Initializer):
    """He (Kaiming) uniform, for ReLU layers: U(-l, l) with l = sqrt(6 / fan_in)."""

    def __call__(self, shape, fan_in, fan_out, rng, dtype):
        limit = math.sqrt(6.0 / fan_in)
        return rng.uniform(-limit, limit, size=shape).astype(dtype, copy=False)


@attrs.define(eq=False)
class HeNormal(Initializer):
    """He (Kaiming) normal, for ReLU layers: N(0, 2 / fan_in)."""

    def __call__(self, shape, fan_in, fan_out, rng, dtype):
        std = math.sqrt(2.0 / fan_in)
        return (rng.standard_normal(size=shape) * std).astype(dtype, copy=False)


@attrs.define(eq=False)
class Zeros(Initializer):
    """All zeros (the usual start for biases)."""

    def __call__(self, shape, fan_in, fan_out, rng, dtype):
        return np.zeros(shape, dtype=dtype)


@attrs.define(eq=False)
class Constant(Initializer):
    """Every element equal to ``value`` (ones for a normalisation's scale)."""

    value: float = attrs.field(default=1.0, converter=to_float)

    def __call__(self, shape, fan_in, fan_out, rng, dtype):
        return np.full(shape, self.value, dtype=dtype)


@attrs.define(eq=False)
class FanInUniform(Initializer):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for linear, convolution and
    recurrent layers."""

    def __call__(self, shape, fan_in, fan_out, rng, dtype):
        limit = 1.0 / math.sqrt(fan_in)
        return rng.uniform(-limit, limit, size=shape).astype(dtype, copy=False)


@attrs.define(eq=False)
class SeedUniform(Initializer):
    """U(-0.5, 0.5), as the original from-scratch tutorial code (``np.random.rand(...) - 0.5``)."""

    def __call__(self, shape, fan_in, fan_out, rng, dtype):
        return (rng.random(size=shape) - 0.5).astype(dtype, copy=False)


def check_init(instance: Any, attribute: Any, value: Any) -> None:
    """attrs validator: the registered name of an initializer."""
    from nnframe.registry import get_registry

    try:
        get_registry().get("initializer", value)
    except ComponentError as exc:
        raise ConfigError(f"{type(instance).__name__}: {attribute.name}: {exc}") from None


def initialize(name: str, shape: Shape, fan_in: int, fan_out: int,
               rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
    """Draw an array of ``shape`` with the initializer registered as ``name``."""
    from nnframe.registry import get_registry

    initializer = get_registry().create("initializer", name)
    return initializer(tuple(shape), fan_in, fan_out, rng, np.dtype(dtype))
