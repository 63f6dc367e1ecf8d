"""Fixtures for the nnframe-numba tests: a fresh registry per test, and a temporary numba
cache for the whole session (this conftest is imported at collection, before any kernel
is compiled, so every test of the run, and the processes they start, cache there rather
than in the user's cache directory).

This folder has no ``__init__.py``: pytest imports the test modules by their (unique) file
names, and pytest's own handling keeps this conftest apart from tests/conftest.py.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest

from nnframe.core import registry
from nnframe.speed import kernels

if not os.environ.get("NUMBA_CACHE_DIR"):
    _CACHE = tempfile.mkdtemp(prefix="nnframe-numba-tests-")
    os.environ["NUMBA_CACHE_DIR"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)


@pytest.fixture(autouse=True)
def fresh_registry():
    """Every test starts from a registry that has not loaded any plugin yet."""
    registry.reset_registry()
    kernels.forget()
    yield
    registry.reset_registry()
