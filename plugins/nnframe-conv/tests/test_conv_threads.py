"""Convolution and pooling split their im2col, col2im and window work over the batch
(nnframe.speed.parallel); the pieces must give the same bits as one thread."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe
from nnframe.speed import parallel


@pytest.fixture
def split_everything(monkeypatch):
    monkeypatch.setattr(parallel, "blas_threads", lambda: None)
    monkeypatch.setattr(parallel, "machine_busy", lambda: False)
    monkeypatch.setattr(parallel, "ELEMENTWISE_MIN", 8)
    parallel.set_num_threads(2)
    yield
    parallel.set_num_threads(None)


def run(name, config, x, seed=0):
    layer = nnframe.layer(name, **config)
    layer.build(x.shape[1:], np.random.default_rng(seed), x.dtype)
    y = layer.forward(x, training=True)
    grad = np.random.default_rng(seed + 1).standard_normal(y.shape).astype(x.dtype)
    return [y, layer.backward(grad), *(g.copy() for g in layer.grads.values())]


@pytest.mark.parametrize(("name", "config", "shape"), [
    ("conv2d", {"filters": 3, "kernel_size": 3}, (9, 8, 8, 1)),
    ("conv2d", {"filters": 4, "kernel_size": 3, "stride": 2, "padding": "same"}, (9, 7, 6, 2)),
    ("maxpool2d", {"pool_size": 2}, (9, 8, 8, 3)),
    ("maxpool2d", {"pool_size": 3, "stride": 2}, (9, 7, 6, 2)),
])
def test_split_over_the_batch_matches_one_thread(split_everything, monkeypatch, name, config,
                                                  shape):
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    x[:, ::2, ::2] = x[:, 1::2, 1::2].max()  # ties in the pooling windows
    # Exact, not close: each thread takes whole images, and every output element gets the
    # same operations in the same order whichever thread runs them.
    split = run(name, config, x)
    monkeypatch.setattr(parallel, "ELEMENTWISE_MIN", 10**9)
    whole = run(name, config, x)
    for a, b in zip(split, whole, strict=True):
        np.testing.assert_array_equal(a, b)
