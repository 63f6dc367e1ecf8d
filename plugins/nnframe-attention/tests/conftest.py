"""Fixtures for the nnframe-attention tests: a fresh registry per test, a seeded Generator,
and batches of sequences with a padding-mask channel.

This folder has no ``__init__.py``: pytest imports the test modules by their (unique) file
names, and pytest's own handling keeps this conftest apart from the other ones.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnframe import registry


@pytest.fixture(autouse=True)
def fresh_registry():
    """Every test starts from a registry that has not loaded any plugin yet."""
    registry.reset_registry()
    yield
    registry.reset_registry()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(2026)


def keep_mask(n: int, time: int) -> np.ndarray:
    """(n, time) booleans: the first sample whole, the others padded after 3, 1, 4, ...
    steps, and (with n >= 4) one sample that is all padding."""
    keep = np.ones((n, time), bool)
    lengths = [time, 3, 1, 0, 4, 2]
    for i in range(1, n):
        keep[i, lengths[i % len(lengths)]:] = False
    return keep


def with_mask_channel(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``x`` (N, time, F) with the mask as channel F: 1.0 real, 0.0 padding."""
    return np.concatenate([x, keep[..., None].astype(x.dtype)], axis=-1)
