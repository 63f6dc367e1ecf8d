"""Fixtures for the nnframe-recurrent tests: a fresh registry per test, a seeded Generator,
built float64 layers and a finite-difference check over whole sequences.

This folder has no ``__init__.py``: pytest imports the test modules by their (unique) file
names, and pytest's own handling keeps this conftest apart from the other ones.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnframe.core import registry
from nnframe.testing import assert_layer_gradients

#: Finite-difference step: small enough that the truncation error (eps^2) vanishes, large
#: enough that rounding in the difference of two sums over a whole sequence stays small;
#: the tolerance (`nnframe.testing.gradient_mismatch`) accounts for that rounding.
EPS = 1e-5


@pytest.fixture(autouse=True)
def fresh_registry():
    """Every test starts from a registry that has not loaded any plugin yet."""
    registry.reset_registry()
    yield
    registry.reset_registry()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(2025)


def _gradient_errors(layer, x: np.ndarray, rng: np.random.Generator) -> dict[str, float]:
    """Backward against central differences of E = sum(forward(x) * G), in float64, for
    the input and every parameter (`nnframe.testing.assert_layer_gradients` raises on a
    mismatch); returns each array's error over its tolerance, and checks shapes and dtypes."""
    x = np.array(x, dtype=np.float64)
    upstream = rng.standard_normal(layer.forward(x).shape)
    ratios = assert_layer_gradients(layer, x, upstream, step=EPS)
    grad_input = layer.backward(upstream)
    assert grad_input.shape == x.shape
    assert grad_input.dtype == np.float64
    assert set(layer.grads) == set(layer.params)
    return ratios


@pytest.fixture
def gradient_errors():
    """``gradient_errors(layer, x, rng)``: {"input": r, <key>: r, ...} for a built float64
    layer, backward against finite differences over the whole sequence (r <= 1 passes)."""
    return _gradient_errors
