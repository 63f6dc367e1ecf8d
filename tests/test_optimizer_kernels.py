"""The blocked, threaded optimizer kernels against the plain per-element formulas.

The reference below is the update rule written the obvious way on whole arrays (as
torch.optim documents it); the kernels reorder a few operations and walk the buffers in
blocks over threads, so they must agree up to float rounding, in float32 and float64, on
sizes around and below a block, over many steps of bias correction, and with weight
decay. Blocks and threads must not change a single bit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnframe.speed import blocked as kernels
from nnframe.speed import parallel

TOLERANCE = {np.float32: {"rtol": 2e-5, "atol": 1e-5}, np.float64: {"rtol": 1e-12, "atol": 1e-14}}
BLOCK = 1024  # small blocks: the same code paths as the real size, in less time
SIZES = [1, 7, BLOCK - 1, BLOCK, 2 * BLOCK + 5]


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    monkeypatch.setattr(kernels, "BLOCK", BLOCK)
    monkeypatch.setattr(kernels, "WHOLE_MAX", BLOCK)  # larger buffers go in blocks


def reference_adam(p, g, m, v, *, lr, beta1, beta2, eps, step, weight_decay=0.0,
                   decoupled=False):
    if decoupled:
        p = p * (1 - lr * weight_decay)
    elif weight_decay:
        g = g + weight_decay * p
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    p = p - lr / (1 - beta1**step) * m / (np.sqrt(v) / math.sqrt(1 - beta2**step) + eps)
    return p, m, v


def reference_rmsprop(p, g, s, b, *, lr, alpha, eps, momentum):
    s = alpha * s + (1 - alpha) * g * g
    d = g / (np.sqrt(s) + eps)
    if momentum:
        b = momentum * b + d
        d = b
    return p - lr * d, s, b


def reference_sgd(p, g, b, *, lr, momentum, nesterov):
    if not momentum:
        return p - lr * g, b
    b = momentum * b + g
    return p - lr * (g + momentum * b if nesterov else b), b


def arrays(size, dtype, count, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(size).astype(dtype) for _ in range(count)]


def assert_close(got, expected, dtype):
    np.testing.assert_allclose(got, expected, **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("weight_decay", "decoupled"), [(0.0, False), (0.1, False), (0.1, True)])
def test_adam_matches_the_formula_over_many_steps(dtype, size, weight_decay, decoupled):
    p, = arrays(size, dtype, 1)
    m, v = np.zeros(size, dtype), np.zeros(size, dtype)
    rp, rm, rv = p.astype(np.float64), m.astype(np.float64), v.astype(np.float64)
    hyper = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
             "weight_decay": weight_decay, "decoupled": decoupled}
    for step in range(1, 61):
        g, = arrays(size, dtype, 1, seed=step)
        kernels.adam_step(p, g, m, v, step=step, **hyper)
        rp, rm, rv = reference_adam(rp, g.astype(np.float64), rm, rv, step=step, **hyper)
        assert p.dtype == m.dtype == v.dtype == dtype
    assert_close(p, rp, dtype)
    assert_close(m, rm, dtype)
    assert_close(v, rv, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_rmsprop_matches_the_formula(dtype, size, momentum):
    p, = arrays(size, dtype, 1)
    s, b = np.zeros(size, dtype), np.zeros(size, dtype)
    rp, rs, rb = p.astype(np.float64), s.astype(np.float64), b.astype(np.float64)
    hyper = {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "momentum": momentum}
    for step in range(1, 31):
        g, = arrays(size, dtype, 1, seed=step)
        kernels.rmsprop_step(p, g, s, lr=hyper["lr"], alpha=hyper["alpha"], eps=hyper["eps"],
                             momentum=momentum, momentum_buffer=b if momentum else None)
        rp, rs, rb = reference_rmsprop(rp, g.astype(np.float64), rs, rb, **hyper)
    assert p.dtype == s.dtype == dtype
    assert_close(p, rp, dtype)
    assert_close(s, rs, dtype)
    if momentum:
        assert_close(b, rb, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("momentum", "nesterov"), [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_matches_the_formula(dtype, size, momentum, nesterov):
    p, = arrays(size, dtype, 1)
    b = np.zeros(size, dtype)
    rp, rb = p.astype(np.float64), b.astype(np.float64)
    for step in range(1, 31):
        g, = arrays(size, dtype, 1, seed=step)
        kernels.sgd_step(p, g, b if momentum else None, lr=0.05, momentum=momentum,
                         nesterov=nesterov)
        rp, rb = reference_sgd(rp, g.astype(np.float64), rb, lr=0.05, momentum=momentum,
                               nesterov=nesterov)
    assert p.dtype == dtype
    assert_close(p, rp, dtype)


def run_all(size, dtype):
    """Two steps of every kernel on fresh arrays; the arrays afterwards."""
    p1, p2, p3 = arrays(size, dtype, 3)
    m, v, s, b, u = (np.zeros(size, dtype) for _ in range(5))
    for step in (1, 2):
        g, = arrays(size, dtype, 1, seed=10 + step)
        kernels.adam_step(p1, g, m, v, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, step=step,
                          weight_decay=0.01, decoupled=True)
        kernels.rmsprop_step(p2, g, s, lr=1e-2, alpha=0.99, eps=1e-8, momentum=0.5,
                             momentum_buffer=b)
        kernels.sgd_step(p3, g, u, lr=0.1, momentum=0.9, nesterov=True)
    return [p1, m, v, p2, s, b, p3, u]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocks_and_threads_change_no_bit(monkeypatch, dtype):
    """Exact: the update rules are element by element, so each element's arithmetic is the
    same whatever block or thread computes it."""
    size = 5 * BLOCK + 3
    monkeypatch.setattr(parallel, "blas_threads", lambda: None)
    monkeypatch.setattr(parallel, "machine_busy", lambda: False)
    parallel.set_num_threads(1)
    try:
        monkeypatch.setattr(kernels, "WHOLE_MAX", size)
        whole = run_all(size, dtype)
        monkeypatch.setattr(kernels, "WHOLE_MAX", BLOCK)
        monkeypatch.setattr(kernels, "BLOCK", BLOCK)
        monkeypatch.setattr(kernels, "PARALLEL_MIN", BLOCK)
        blocked = run_all(size, dtype)
        parallel.set_num_threads(3)
        assert len(parallel.ranges(size, BLOCK, BLOCK)) == 3
        threaded = run_all(size, dtype)
    finally:
        parallel.set_num_threads(None)
    for a, b, c in zip(whole, blocked, threaded, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_arrays_that_are_not_contiguous_are_updated_in_place():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((6, 8))
    p, g = base.T, rng.standard_normal((6, 8)).T  # Fortran-ordered views
    m, v = np.zeros((8, 6)), np.zeros((8, 6))
    expected, *_ = reference_adam(p.copy(), g, m.copy(), v.copy(), lr=0.1, beta1=0.9,
                                  beta2=0.999, eps=1e-8, step=1)
    kernels.adam_step(p, g, m, v, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, step=1)
    np.testing.assert_allclose(base.T, expected, rtol=1e-12)


def test_bad_calls_say_what_is_wrong():
    p, g = arrays(4, np.float32, 2)
    with pytest.raises(ValueError, match="one shape and dtype"):
        kernels.sgd_step(p, g[:3], lr=0.1)
    with pytest.raises(ValueError, match="one shape and dtype"):
        kernels.sgd_step(p, g.astype(np.float64), lr=0.1)
    with pytest.raises(ValueError, match="counts from 1"):
        kernels.adam_step(p, g, p.copy(), p.copy(), lr=0.1, beta1=0.9, beta2=0.9, eps=1e-8,
                          step=0)
    with pytest.raises(ValueError, match="velocity"):
        kernels.sgd_step(p, g, lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="momentum_buffer"):
        kernels.rmsprop_step(p, g, p.copy(), lr=0.1, alpha=0.9, eps=1e-8, momentum=0.5)
