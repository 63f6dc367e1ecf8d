"""Optimizer steps against values computed by hand from torch.optim's documented rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nnframe
from nnframe import ParameterGroup

GRADIENTS = [np.array([0.5, -1.0, 2.0]), np.array([0.1, 0.3, -0.2]), np.array([-0.4, 0.0, 1.0])]
START = np.array([1.0, -2.0, 0.5])


def run(optimizer, steps=3):
    """Apply the fixed gradients one after another to a float64 parameter; return values."""
    group = ParameterGroup.allocate({"0.weights": (3,)}, np.float64)
    (parameter,) = group
    value, grad = parameter.value, parameter.grad
    value[...] = START
    seen = []
    for g in GRADIENTS[:steps]:
        grad[...] = g
        optimizer.step(group)
        seen.append(value.copy())
    assert parameter.value is value  # updated in place
    return seen


def group_of(value: np.ndarray, grad: np.ndarray) -> ParameterGroup:
    """One parameter with these starting values and gradient, as a network gives it."""
    group = ParameterGroup.allocate({"0.weights": value.shape}, value.dtype)
    group[0].value[...] = value
    group[0].grad[...] = grad
    return group


def test_sgd():
    lr = 0.1
    expected, p = [], START.copy()
    for g in GRADIENTS:
        p = p - lr * g
        expected.append(p)
    np.testing.assert_allclose(run(nnframe.optimizer("sgd", learning_rate=lr)), expected)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum(nesterov):
    lr, mu = 0.1, 0.9
    expected, p, b = [], START.copy(), None
    for g in GRADIENTS:
        b = g.copy() if b is None else mu * b + g
        p = p - lr * (g + mu * b if nesterov else b)
        expected.append(p)
    optimizer = nnframe.optimizer("sgd", learning_rate=lr, momentum=mu, nesterov=nesterov)
    np.testing.assert_allclose(run(optimizer), expected)


def test_adam_by_hand():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    # step 1: m = 0.1 g, v = 0.001 g^2, m_hat = g, v_hat = g^2 -> p -= lr * g / (|g| + eps)
    g1 = GRADIENTS[0]
    step1 = START - lr * g1 / (np.abs(g1) + eps)
    m, v, p, expected = np.zeros(3), np.zeros(3), START.copy(), []
    for t, g in enumerate(GRADIENTS, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        expected.append(p)
    got = run(nnframe.optimizer("adam", learning_rate=lr))
    np.testing.assert_allclose(got[0], step1, rtol=1e-12)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_adamw_decouples_weight_decay():
    lr, wd, b1, b2, eps = 0.01, 0.1, 0.9, 0.999, 1e-8
    m, v, p, expected = np.zeros(3), np.zeros(3), START.copy(), []
    for t, g in enumerate(GRADIENTS, start=1):
        p = p * (1 - lr * wd)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        expected.append(p)
    got = run(nnframe.optimizer("adamw", learning_rate=lr, weight_decay=wd))
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # zero gradients still shrink the weights: that is what "decoupled" means
    decayed = run(nnframe.optimizer("adamw", learning_rate=lr, weight_decay=wd), steps=1)
    assert decayed[0][1] != START[1]


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_rmsprop_by_hand(momentum):
    lr, alpha, eps = 0.01, 0.99, 1e-8
    v, b, p, expected = np.zeros(3), np.zeros(3), START.copy(), []
    for g in GRADIENTS:
        v = alpha * v + (1 - alpha) * g * g
        update = g / (np.sqrt(v) + eps)
        if momentum:
            b = momentum * b + update
            update = b
        p = p - lr * update
        expected.append(p)
    got = run(nnframe.optimizer("rmsprop", learning_rate=lr, momentum=momentum))
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    first = START[0] - lr * GRADIENTS[0][0] / math.sqrt(0.01 * 0.25)
    assert got[0][0] == pytest.approx(first)


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop"])
def test_state_is_keyed_by_parameter_and_round_trips(name):
    config = {"momentum": 0.9} if name == "sgd" else {}
    first = nnframe.optimizer(name, learning_rate=0.01, **config)
    run(first, steps=2)
    state = first.state_dict()
    assert all(key == "iterations" or key.startswith("0.weights/") for key in state)
    second = nnframe.optimizer(name, learning_rate=0.01, **config)
    second.load_state_dict(state)
    one, two = group_of(START, GRADIENTS[2]), group_of(START, GRADIENTS[2])
    first.step(one)
    second.step(two)
    np.testing.assert_array_equal(one[0].value, two[0].value)


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop"])
def test_float32_state_stays_float32(name):
    optimizer = nnframe.optimizer(name, learning_rate=0.01)
    group = group_of(START.astype(np.float32), GRADIENTS[0].astype(np.float32))
    optimizer.step(group)
    assert group.values.dtype == np.float32
    assert all(a.dtype == np.float32 for s in optimizer.state.values() for a in s.values())


def test_optimizer_configs():
    assert nnframe.optimizer("adamw").get_config() == {
        "learning_rate": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01}
    assert nnframe.optimizer("sgd", learning_rate=1).get_config() == {
        "learning_rate": 1.0, "momentum": 0.0, "nesterov": False}
    with pytest.raises(nnframe.ConfigError, match="beta1"):
        nnframe.optimizer("adam", beta1=1.0)
