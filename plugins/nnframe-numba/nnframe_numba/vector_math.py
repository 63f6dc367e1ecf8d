"""float32 ``exp`` and ``tanh`` that a compiled loop vectorises, for the recurrent kernels.

numba's ``np.exp`` and ``np.tanh`` are calls to the C library's scalar functions, so a
loop that calls them stays scalar: a fused LSTM step that used them took five times
NumPy's (vectorised) time. These are written as arithmetic alone, which LLVM vectorises
like any other loop body:

- `exp32`: x = n ln2 + r with n = rint(x / ln2) and |r| <= ln2 / 2 (ln2 in two parts, so
  that r is exact), exp(r) by its Taylor series to r^7 (truncation below 5e-9), and 2^n
  put straight into the float's exponent bits. Within 0.65 ulp of the exact value over
  the whole float32 range; the argument is clamped to [-87, 88], where 2^n is a normal
  float, so a large argument gives about 1.6e38 (not inf) and a very negative one about
  1.6e-38 (not 0). NaN stays NaN.
- `tanh32`: for |x| < 0.4 its Taylor series to x^15 (relative truncation below 1e-9), where
  1 - 2 / (exp(2x) + 1) would lose the leading digits; elsewhere that formula. Within 3
  ulp of the exact value; +-1 for large |x|; NaN stays NaN.

The callers compile with ``fastmath={"contract"}`` alone: fused multiply-adds, but no
reordering, and NaN and inf keep IEEE meaning (a diverging run must still show NaN).
Both are inlined into their callers, whose compiled code is cached; they have no cache of
their own. numba's cache looks only at the caller's file: after editing this module, clear
the cache folder (`nnframe_numba.cache`) or the kernels keep the old code.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

#: the only fast-math liberty taken: fusing a multiply and an add into one rounding
FASTMATH = {"contract"}

_LOG2_E = np.float32(1.4426950408889634)
_LN2_HIGH = np.float32(0.693359375)  # ln 2's leading bits: n * this is exact for |n| < 2^15
_LN2_LOW = np.float32(-2.12194440e-4)  # ln 2 - _LN2_HIGH


@intrinsic
def _float32_with_bits(typingctx, bits):
    """The float32 whose bit pattern is the low 32 bits of the integer ``bits``."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        low = builder.trunc(args[0], ir.IntType(32)) if bits.bitwidth > 32 else args[0]
        return builder.bitcast(low, ir.FloatType())

    return types.float32(bits), codegen


@njit(inline="always", fastmath=FASTMATH, error_model="numpy", nogil=True)
def exp32(x):  # pragma: no cover - compiled
    """e^x of a float32, in arithmetic that vectorises (module docstring)."""
    if x > np.float32(88.0):
        x = np.float32(88.0)
    if x < np.float32(-87.0):
        x = np.float32(-87.0)
    n = np.rint(x * _LOG2_E)
    r = (x - n * _LN2_HIGH) - n * _LN2_LOW
    p = np.float32(1.0 / 5040.0)
    p = p * r + np.float32(1.0 / 720.0)
    p = p * r + np.float32(1.0 / 120.0)
    p = p * r + np.float32(1.0 / 24.0)
    p = p * r + np.float32(1.0 / 6.0)
    p = p * r + np.float32(0.5)
    p = p * r + np.float32(1.0)
    p = p * r + np.float32(1.0)
    return p * _float32_with_bits((np.int32(n) + 127) << 23)  # p * 2^n


@njit(inline="always", fastmath=FASTMATH, error_model="numpy", nogil=True)
def tanh32(x):  # pragma: no cover - compiled
    """tanh(x) of a float32, in arithmetic that vectorises (module docstring)."""
    one = np.float32(1.0)
    far = one - np.float32(2.0) / (exp32(np.float32(2.0) * x) + one)
    s = x * x
    p = np.float32(-929569.0 / 638512875.0)
    p = p * s + np.float32(21844.0 / 6081075.0)
    p = p * s + np.float32(-1382.0 / 155925.0)
    p = p * s + np.float32(62.0 / 2835.0)
    p = p * s + np.float32(-17.0 / 315.0)
    p = p * s + np.float32(2.0 / 15.0)
    p = p * s + np.float32(-1.0 / 3.0)
    near = x + (x * s) * p
    return near if abs(x) < np.float32(0.4) else far
