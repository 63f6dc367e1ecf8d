"""Fixtures for the nnframe-attention tests: a fresh registry per test, a seeded Generator.

This folder has no ``__init__.py``: pytest imports the test modules by their (unique) file
names, and pytest's own handling keeps this conftest apart from the other ones.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnframe.core import registry


@pytest.fixture(autouse=True)
def fresh_registry():
    """Every test starts from a registry that has not loaded any plugin yet."""
    registry.reset_registry()
    yield
    registry.reset_registry()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(2026)
