"""nnframe-numba's float32 exp and tanh (`nnframe_numba.vector_math`) against float64 NumPy
over the whole float32 range: the accuracy its docstring states, and IEEE special values."""

from __future__ import annotations

import numpy as np
import pytest
from nnframe_numba.vector_math import exp32, tanh32
from numba import njit

EPSILON = float(np.finfo(np.float32).eps)


@njit
def _exp_all(x, out):  # pragma: no cover - compiled
    for i in range(x.size):
        out[i] = exp32(x[i])


@njit
def _tanh_all(x, out):  # pragma: no cover - compiled
    for i in range(x.size):
        out[i] = tanh32(x[i])


def applied(function, values) -> np.ndarray:
    x = np.asarray(values, np.float32)
    out = np.empty_like(x)
    function(x, out)
    return out


def relative_error(got: np.ndarray, exact: np.ndarray) -> float:
    nonzero = exact != 0
    return float(np.max(np.abs(got[nonzero] - exact[nonzero]) / np.abs(exact[nonzero])))


@pytest.mark.parametrize(("low", "high"), [(-87.0, 88.0), (-1.0, 1.0), (-1e-3, 1e-3)])
def test_exp32_is_within_one_ulp(low, high):
    x = np.linspace(low, high, 1_000_001, dtype=np.float32)
    got = applied(_exp_all, x)
    assert relative_error(got, np.exp(x.astype(np.float64))) < EPSILON


@pytest.mark.parametrize(("low", "high"), [(-20.0, 20.0), (-0.5, 0.5), (-1e-6, 1e-6)])
def test_tanh32_is_within_three_ulp(low, high):
    x = np.linspace(low, high, 1_000_001, dtype=np.float32)
    got = applied(_tanh_all, x)
    assert relative_error(got, np.tanh(x.astype(np.float64))) < 3 * EPSILON


def test_special_values():
    exp = applied(_exp_all, [np.nan, np.inf, -np.inf, 0.0, 100.0, -100.0])
    assert np.isnan(exp[0])
    assert exp[3] == 1.0
    assert exp[1] == exp[4] == pytest.approx(np.exp(88.0), rel=1e-6)  # clamped, finite
    assert exp[2] == exp[5] == pytest.approx(np.exp(-87.0), rel=1e-6)
    tanh = applied(_tanh_all, [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, 50.0])
    assert np.isnan(tanh[0])
    np.testing.assert_array_equal(tanh[1:], np.float32([1.0, -1.0, 0.0, 0.0, 1e-30, 1.0]))
