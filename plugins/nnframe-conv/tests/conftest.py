"""Fixtures for the nnframe-conv tests: a fresh registry per test, a seeded Generator and
a float64 finite-difference check of a layer's input and parameter gradients.

This folder has no ``__init__.py``: pytest imports the test modules by their (unique) file
names, and pytest's own handling keeps this conftest apart from tests/conftest.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnframe.core import registry
from nnframe.testing import assert_layer_gradients


@pytest.fixture(autouse=True)
def fresh_registry():
    """Every test starts from a registry that has not loaded any plugin yet."""
    registry.reset_registry()
    yield
    registry.reset_registry()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(2024)


def _check_gradients(layer, x: np.ndarray, rng: np.random.Generator) -> None:
    """backward() against central differences of E = sum(forward(x) * G), in float64, for
    the input and every parameter, element by element (`nnframe.testing.gradient_mismatch`:
    a relative part and an absolute part for the rounding in the differences)."""
    x = np.array(x, dtype=np.float64)
    upstream = rng.standard_normal(layer.forward(x).shape)
    layer.forward(x, training=True)
    grad_input = layer.backward(upstream.copy())
    assert grad_input.shape == x.shape
    assert grad_input.dtype == np.float64
    assert set(layer.grads) == set(layer.params)
    assert_layer_gradients(layer, x, upstream)


@pytest.fixture
def check_gradients():
    """``check_gradients(layer, x, rng)``: assert that a built float64 layer's backward
    matches finite differences."""
    return _check_gradients
