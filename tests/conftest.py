"""Shared fixtures: a fresh registry per test, and where the real MNIST files are."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from nnframe.core import registry

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def fresh_registry():
    """Every test starts from a registry that has not loaded any plugin yet."""
    registry.reset_registry()
    yield
    registry.reset_registry()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def mnist_dir() -> Path | None:
    env = os.environ.get("NNFRAME_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(SHARED_DATA)
    for candidate in candidates:
        if (candidate / "mnist" / "t10k-images-idx3-ubyte.gz").exists():
            return candidate
    return None


requires_mnist = pytest.mark.skipif(
    mnist_dir() is None,
    reason="real MNIST not found: set NNFRAME_DATA_DIR to a directory holding mnist/ "
    "(CI points it at ../shared/data)",
)
