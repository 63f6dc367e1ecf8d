"""The fast path of the optimizers (the blocked, threaded kernels) against their rules as
written (`adam_rule`, `rmsprop_rule`, `sgd_rule`).

The kernels reorder a few operations (bias corrections folded into two constants, the
moment updated as m + (1 - b1)(g - m)) and walk the buffers in blocks over threads, so
they must agree with the rules up to rounding: one step from the same arrays within a few
units in the last place (ulps) in float32 and float64, and over many steps of bias
correction within float rounding of the rule run in float64; on sizes around and below a
block and tiny ones, with weight decay. Blocks and threads must not change a single bit.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnframe.optimizers.adam import adam_rule
from nnframe.optimizers.rmsprop import rmsprop_rule
from nnframe.optimizers.sgd import sgd_rule
from nnframe.speed import blocked as kernels
from nnframe.speed import parallel

TOLERANCE = {np.float32: {"rtol": 2e-5, "atol": 1e-5}, np.float64: {"rtol": 1e-12, "atol": 1e-14}}
BLOCK = 1024  # small blocks: the same code paths as the real size, in less time
SIZES = [1, 7, BLOCK - 1, BLOCK, 2 * BLOCK + 5]
#: One step, kernel against rule: ulps of the larger of the result and the terms it is
#: made from. A new value is the old one less an update that each form computes in six or
#: seven rounded operations in another order; a state array takes two or three.
VALUE_ULPS, STATE_ULPS = 8, 2
ADAM = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
RMSPROP = {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8}


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    monkeypatch.setattr(kernels, "BLOCK", BLOCK)
    monkeypatch.setattr(kernels, "WHOLE_MAX", BLOCK)  # larger buffers go in blocks


def arrays(size, dtype, count, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(size).astype(dtype) for _ in range(count)]


def assert_close(got, expected, dtype):
    np.testing.assert_allclose(got, expected, **TOLERANCE[dtype])


def assert_ulps(got, want, ulps, *inputs):
    """``got`` within ``ulps`` units in the last place of ``want`` or of the largest of
    ``inputs`` there, whichever is larger (a difference of large terms can be small)."""
    assert got.dtype == want.dtype
    scale = np.max(np.abs(np.stack([want, *inputs])), axis=0).astype(want.dtype)
    error = np.abs(got.astype(np.float64) - want) / np.spacing(scale).astype(np.float64)
    worst = int(np.argmax(error))
    assert error[worst] <= ulps, (f"{error[worst]:.1f} ulps apart at {worst}: "
                                  f"{got[worst]!r}, the rule {want[worst]!r}")


def state(size, dtype, seed):
    """Values, gradient, a first moment and a second (non-negative) one, mid-training."""
    p, g, m, v = arrays(size, dtype, 4, seed)
    return p, g, m * 0.1, np.abs(v) * 0.01


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("step", [1, 3, 1000])
@pytest.mark.parametrize(("weight_decay", "decoupled"), [(0.0, False), (0.1, False), (0.1, True)])
def test_adam_is_its_rule_within_a_few_ulps(dtype, size, step, weight_decay, decoupled):
    p, g, m, v = state(size, dtype, step)
    fast, rule = [a.copy() for a in (p, g, m, v)], [a.copy() for a in (p, g, m, v)]
    hyper = {**ADAM, "step": step, "weight_decay": weight_decay, "decoupled": decoupled}
    kernels.adam_step(*fast, **hyper)
    adam_rule(*rule, **hyper)
    assert_ulps(fast[0], rule[0], VALUE_ULPS, p, p - rule[0])
    assert_ulps(fast[2], rule[2], STATE_ULPS, m, g, weight_decay * p)
    assert_ulps(fast[3], rule[3], STATE_ULPS, v, g * g)
    np.testing.assert_array_equal(fast[1], g)  # the gradient is left alone


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_rmsprop_is_its_rule_within_a_few_ulps(dtype, size, momentum):
    p, g, _, square_avg = state(size, dtype, 1)
    buffer, = arrays(size, dtype, 1, seed=2)
    fast = [a.copy() for a in (p, g, square_avg, buffer)]
    rule = [a.copy() for a in (p, g, square_avg, buffer)]
    kernels.rmsprop_step(*fast[:3], **RMSPROP, momentum=momentum,
                         momentum_buffer=fast[3] if momentum else None)
    rmsprop_rule(*rule[:3], None, rule[3] if momentum else None, **RMSPROP,
                 momentum=momentum)
    assert_ulps(fast[0], rule[0], VALUE_ULPS, p, p - rule[0])
    assert_ulps(fast[2], rule[2], STATE_ULPS, square_avg, g * g)
    assert_ulps(fast[3], rule[3], STATE_ULPS, buffer, g / np.sqrt(rule[2]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("momentum", "nesterov"), [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_is_its_rule_within_a_few_ulps(dtype, size, momentum, nesterov):
    p, g, velocity = arrays(size, dtype, 3)
    fast, rule = [a.copy() for a in (p, g, velocity)], [a.copy() for a in (p, g, velocity)]
    kernels.sgd_step(*fast[:2], fast[2] if momentum else None, lr=0.1, momentum=momentum,
                     nesterov=nesterov)
    sgd_rule(*rule[:2], rule[2] if momentum else None, lr=0.1, momentum=momentum,
             nesterov=nesterov)
    assert_ulps(fast[0], rule[0], VALUE_ULPS, p, p - rule[0])
    assert_ulps(fast[2], rule[2], STATE_ULPS, velocity, g)


def as64(*arrays_):
    return [a.astype(np.float64) for a in arrays_]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("weight_decay", "decoupled"), [(0.0, False), (0.1, False), (0.1, True)])
def test_adam_follows_its_rule_over_many_steps(dtype, size, weight_decay, decoupled):
    p, = arrays(size, dtype, 1)
    m, v = np.zeros(size, dtype), np.zeros(size, dtype)
    rp, rm, rv = as64(p, m, v)
    hyper = {**ADAM, "weight_decay": weight_decay, "decoupled": decoupled}
    for step in range(1, 61):
        g, = arrays(size, dtype, 1, seed=step)
        kernels.adam_step(p, g, m, v, step=step, **hyper)
        adam_rule(rp, g.astype(np.float64), rm, rv, step=step, **hyper)
        assert p.dtype == m.dtype == v.dtype == dtype
    assert_close(p, rp, dtype)
    assert_close(m, rm, dtype)
    assert_close(v, rv, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_rmsprop_follows_its_rule_over_many_steps(dtype, size, momentum):
    p, = arrays(size, dtype, 1)
    s, b = np.zeros(size, dtype), np.zeros(size, dtype)
    rp, rs, rb = as64(p, s, b)
    for step in range(1, 31):
        g, = arrays(size, dtype, 1, seed=step)
        kernels.rmsprop_step(p, g, s, **RMSPROP, momentum=momentum,
                             momentum_buffer=b if momentum else None)
        rmsprop_rule(rp, g.astype(np.float64), rs, None, rb if momentum else None,
                     **RMSPROP, momentum=momentum)
    assert p.dtype == s.dtype == dtype
    assert_close(p, rp, dtype)
    assert_close(s, rs, dtype)
    if momentum:
        assert_close(b, rb, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("momentum", "nesterov"), [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_follows_its_rule_over_many_steps(dtype, size, momentum, nesterov):
    p, = arrays(size, dtype, 1)
    b = np.zeros(size, dtype)
    rp, rb = as64(p, b)
    for step in range(1, 31):
        g, = arrays(size, dtype, 1, seed=step)
        kernels.sgd_step(p, g, b if momentum else None, lr=0.05, momentum=momentum,
                         nesterov=nesterov)
        sgd_rule(rp, g.astype(np.float64), rb if momentum else None, lr=0.05,
                 momentum=momentum, nesterov=nesterov, first=step == 1)
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
    expected = p.copy()
    adam_rule(expected, g, m.copy(), v.copy(), lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8,
              step=1)
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
