"""The standard weight initializers: Glorot, He, zeros, constants, and the original
tutorial's U(-0.5, 0.5); each draws from the network's generator in the layer's dtype."""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from nnframe.checks.arguments import to_float
from nnframe.core.contracts import Initializer, Shape

DRAW_CHUNK = 1 << 20
"""Values drawn (in float64) per piece: bounds the memory an initializer uses beside its
result."""


def drawn(shape: Shape, dtype: Any, draw: Any) -> np.ndarray:
    """An array of ``shape`` and ``dtype`` filled by ``draw(n)`` (n float64 values) piece by
    piece, so that a float32 layer never holds its weights in float64 as well (4x the
    memory at the peak for a large layer). The values are those of one ``draw`` of the
    whole size: NumPy's generators give the same stream either way."""
    out = np.empty(shape, dtype=dtype)
    flat = out.reshape(-1)
    for start in range(0, flat.size, DRAW_CHUNK):
        stop = min(start + DRAW_CHUNK, flat.size)
        flat[start:stop] = draw(stop - start)
    return out


@attrs.define(eq=False)
class GlorotUniform(Initializer):
    """Glorot (Xavier) uniform: U(-l, l) with l = sqrt(6 / (fan_in + fan_out))."""

    def __call__(self, shape, fan_in, fan_out, rng, dtype):
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return drawn(shape, dtype, lambda n: rng.uniform(-limit, limit, size=n))


@attrs.define(eq=False)
class GlorotNormal(Initializer):
    """Glorot (Xavier) normal: N(0, 2 / (fan_in + fan_out))."""

    def __call__(self, shape, fan_in, fan_out, rng, dtype):
        std = math.sqrt(2.0 / (fan_in + fan_out))
        return drawn(shape, dtype, lambda n: rng.standard_normal(size=n) * std)


@attrs.define(eq=False)
class HeUniform(Initializer):
    """He (Kaiming) uniform, for ReLU layers: U(-l, l) with l = sqrt(6 / fan_in)."""

    def __call__(self, shape, fan_in, fan_out, rng, dtype):
        limit = math.sqrt(6.0 / fan_in)
        return drawn(shape, dtype, lambda n: rng.uniform(-limit, limit, size=n))


@attrs.define(eq=False)
class HeNormal(Initializer):
    """He (Kaiming) normal, for ReLU layers: N(0, 2 / fan_in)."""

    def __call__(self, shape, fan_in, fan_out, rng, dtype):
        std = math.sqrt(2.0 / fan_in)
        return drawn(shape, dtype, lambda n: rng.standard_normal(size=n) * std)


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
        return drawn(shape, dtype, lambda n: rng.uniform(-limit, limit, size=n))


@attrs.define(eq=False)
class SeedUniform(Initializer):
    """U(-0.5, 0.5), as the original from-scratch tutorial code (``np.random.rand(...) - 0.5``)."""

    def __call__(self, shape, fan_in, fan_out, rng, dtype):
        return drawn(shape, dtype, lambda n: rng.random(size=n) - 0.5)
