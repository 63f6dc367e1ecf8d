"""Layers that split their element-wise work over threads (nnframe.speed.parallel) give the same
bits as on one thread, forward and backward, whatever the pieces."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe
from nnframe.speed import parallel


@pytest.fixture
def split_everything(monkeypatch):
    """Two threads, and pieces of a few elements: every split path runs."""
    monkeypatch.setattr(parallel, "blas_threads", lambda: None)
    monkeypatch.setattr(parallel, "machine_busy", lambda: False)
    monkeypatch.setattr(parallel, "ELEMENTWISE_MIN", 8)
    parallel.set_num_threads(2)
    yield
    parallel.set_num_threads(None)


def outputs(name, args, x, grad):
    layer = nnframe.layer(name, *args)
    layer.build(x.shape[1:], np.random.default_rng(0), x.dtype)
    y = layer.forward(x, training=True)
    return y, layer.backward(grad), {k: v.copy() for k, v in layer.grads.items()}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "args", "shape"), [
    ("relu", (), (37, 5, 3)), ("tanh", (), (37, 11)), ("dense", (7, 4), (37, 7)),
])
def test_split_layers_match_one_thread(split_everything, monkeypatch, dtype, name, args, shape):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)
    out_shape = (*shape[:-1], 4) if name == "dense" else shape
    grad = rng.standard_normal(out_shape).astype(dtype)
    # Exact, not close: a split hands whole rows (or elements) to each thread, so every
    # output element gets the same operations in the same order whichever thread runs
    # them; no sum is divided between threads.
    split = outputs(name, args, x, grad)
    monkeypatch.setattr(parallel, "ELEMENTWISE_MIN", 10**9)
    whole = outputs(name, args, x, grad)
    for a, b in zip(split[:2], whole[:2], strict=True):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)
    for key in whole[2]:
        np.testing.assert_array_equal(split[2][key], whole[2][key])
