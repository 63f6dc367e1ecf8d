"""GELU, the Gaussian error linear unit: ``y = x * Phi(x)``, as PyTorch's ``nn.GELU``.

``approximate="none"`` is the exact form with Phi the standard normal CDF,
``0.5 * (1 + erf(x / sqrt(2)))``; ``"tanh"`` is the tanh approximation of GPT-2 and
BERT. NumPy has no erf, and SciPy is no dependency, so `erf` is computed here: in float64
to within 1e-14 (a power series near zero, a continued fraction for erfc further out);
in float32 with Numerical Recipes' Chebyshev-fitted erfc (fractional error below 1.2e-7,
float32's own precision), one exp and a polynomial, some forty times faster.
"""

from __future__ import annotations

import math
from typing import ClassVar

import attrs
import numpy as np

from nnframe.checks.arguments import one_of
from nnframe.core.contracts import Layer, Shape

#: Below this |x| erf is summed as its power series; above, erfc as a continued fraction.
_SERIES_LIMIT = 2.5
_SERIES_TERMS = 45
_FRACTION_DEPTH = 50
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_SCALE = math.sqrt(2.0 / math.pi)
_TANH_CUBIC = 0.044715


#: Numerical Recipes' erfcc: erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z / 2), z >= 0.
_ERFC_POLYNOMIAL = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
                    0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, element-wise, in the dtype of ``x``: to float32's precision
    for float32 (`fast_erf`), to 1e-14 otherwise (`precise_erf`)."""
    x = np.asarray(x)
    if x.dtype == np.float32:
        return fast_erf(x)
    return precise_erf(x)


def fast_erf(x: np.ndarray) -> np.ndarray:
    """erf from Numerical Recipes' erfc fit (fractional error of erfc below 1.2e-7, so
    also in the tails), computed in float64 and returned in the dtype of ``x``."""
    size = np.abs(x, dtype=np.float64)
    t = np.multiply(size, 0.5)
    t += 1.0
    np.reciprocal(t, out=t)
    poly = np.full_like(t, _ERFC_POLYNOMIAL[-1])
    for coefficient in reversed(_ERFC_POLYNOMIAL[:-1]):
        poly *= t
        poly += coefficient
    np.square(size, out=size)
    poly -= size
    np.exp(poly, out=poly)
    poly *= t  # erfc(|x|)
    np.subtract(1.0, poly, out=poly)
    np.copysign(poly, x, out=poly)
    return poly.astype(x.dtype, copy=False)


def precise_erf(x: np.ndarray) -> np.ndarray:
    """The error function to 1e-14, in the dtype of ``x`` (computed in float64).

    |x| < 2.5: erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1)); further out,
    erfc(|x|) = exp(-x^2) / sqrt(pi) / (|x| + (1/2) / (|x| + 1 / (|x| + (3/2) / ...))),
    evaluated from the bottom up to a fixed depth. Both agree with ``math.erf`` to 1e-14.
    """
    values = np.asarray(x, dtype=np.float64)
    out = np.empty_like(values)
    size = np.abs(values)
    near = size < _SERIES_LIMIT
    z = values[near]
    squared = z * z
    term = z.copy()
    total = z.copy()
    for n in range(1, _SERIES_TERMS):
        term *= squared
        term *= -1.0 / n
        total += term * (1.0 / (2 * n + 1))
    out[near] = total * _TWO_OVER_SQRT_PI
    far = ~near
    if far.any():
        z = size[far]
        fraction = z.copy()
        for k in range(_FRACTION_DEPTH, 0, -1):
            fraction = z + (0.5 * k) / fraction
        erfc = np.exp(-z * z) / (math.sqrt(math.pi) * fraction)
        out[far] = np.copysign(1.0 - erfc, values[far])
    return out.astype(np.result_type(x, np.float32), copy=False)


@attrs.define(eq=False)
class GELU(Layer):
    """GELU: y = x * Phi(x) (``approximate="none"``), or 0.5 x (1 + tanh(sqrt(2/pi)
    (x + 0.044715 x^3))) (``"tanh"``), as ``torch.nn.GELU(approximate=...)``."""

    #: How `nnframe check` builds it: both forms are checked by varying the config.
    check_hints: ClassVar[dict] = {"config": {"approximate": "none"}, "input_shape": (2, 3)}

    approximate: str = attrs.field(default="none", validator=one_of("none", "tanh"))
    _input: np.ndarray | None = attrs.field(init=False, default=None, repr=False)
    _cdf: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def parameter_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        """No parameters."""
        return {}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if training:
            self._input = x
        if self.approximate == "tanh":
            inner = _tanh_inner(x)
            np.tanh(inner, out=inner)
            inner += 1.0
            inner *= x
            inner *= 0.5
            return inner
        cdf = erf(x * _SQRT_HALF)
        cdf += 1.0
        cdf *= 0.5
        if training:
            self._cdf = cdf.copy()  # backward needs Phi(x) again
        cdf *= x
        return cdf

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x = self._input
        if x is None:
            raise RuntimeError("GELU.backward called before forward(x, training=True)")
        if self.approximate == "tanh":
            # d/dx 0.5 x (1 + t) = 0.5 (1 + t) + 0.5 x (1 - t^2) u'(x), t = tanh(u(x))
            t = np.tanh(_tanh_inner(x))
            slope = np.multiply(x, x)
            slope *= 3.0 * _TANH_CUBIC * _TANH_SCALE
            slope += _TANH_SCALE
            slope *= 1.0 - t * t
            slope *= x
            slope += 1.0 + t
            slope *= 0.5
            slope *= grad_output
            return slope
        # d/dx x Phi(x) = Phi(x) + x phi(x)
        density = np.multiply(x, x)
        density *= -0.5
        np.exp(density, out=density)
        density *= _INV_SQRT_2PI
        density *= x
        density += self._cdf
        density *= grad_output
        return density


def _tanh_inner(x: np.ndarray) -> np.ndarray:
    """sqrt(2/pi) (x + 0.044715 x^3), a new array."""
    inner = np.multiply(x, x)
    inner *= _TANH_CUBIC
    inner += 1.0
    inner *= x
    inner *= _TANH_SCALE
    return inner
