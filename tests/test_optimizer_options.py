"""The optimizers' options (SGD weight decay, dampening, Nesterov; Adam/AdamW AMSGrad and
Adam's L2 weight decay; RMSprop centred and weight decay; maximize on all): by hand, with
the kit, against torch.optim after several steps, and the default paths left as they were."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import nnframe
from nnframe.core.contracts import ParameterGroup
from nnframe.optimizers import adam, rmsprop, sgd
from nnframe.testing import check_optimizer

SHAPES = {"0.weights": (3, 4), "0.bias": (4,)}
STEPS = 6

SGD = [dict(momentum=m, dampening=d, nesterov=n, weight_decay=w, maximize=x)
       for m, d, n, w, x in itertools.product([0.0, 0.9], [0.0, 0.3], [False, True],
                                              [0.0, 0.1], [False, True])
       if not (n and (m == 0.0 or d))]
ADAM = [dict(amsgrad=a, weight_decay=w, maximize=x)
        for a, w, x in itertools.product([False, True], [0.0, 0.1], [False, True])]
RMSPROP = [dict(momentum=m, centered=c, weight_decay=w, maximize=x)
           for m, c, w, x in itertools.product([0.0, 0.9], [False, True], [0.0, 0.1],
                                               [False, True])]
CASES = ([("sgd", "SGD", 0.1, c) for c in SGD] + [("adam", "Adam", 0.01, c) for c in ADAM]
         + [("adamw", "AdamW", 0.01, c) for c in ADAM]
         + [("rmsprop", "RMSprop", 0.01, c) for c in RMSPROP])
TORCH_NAMES = {"learning_rate": "lr"}


def problem(rng, dtype=np.float64):
    """A group with random starting values, and random gradients for each step."""
    group = ParameterGroup.allocate(SHAPES, dtype)
    for p in group:
        p.value[...] = rng.standard_normal(p.value.shape)
    grads = [[rng.standard_normal(p.value.shape).astype(dtype) for p in group]
             for _ in range(STEPS)]
    return group, grads


def descend(optimizer, group, grads):
    for step in grads:
        for p, g in zip(group, step, strict=True):
            p.grad[...] = g
        optimizer.step(group)


def case_id(case):
    name, _, _, config = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in config.items())


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_torch_after_several_steps(case, rng):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (an optional "
                                                "cross-check)")
    name, torch_name, lr, config = case
    group, grads = problem(rng)
    tensors = [torch.tensor(p.value.copy(), requires_grad=True) for p in group]
    reference = getattr(torch.optim, torch_name)(tensors, lr=lr, **config)
    descend(nnframe.optimizer(name, learning_rate=lr, **config), group, grads)
    for step in grads:
        for tensor, g in zip(tensors, step, strict=True):
            tensor.grad = torch.tensor(g)
        reference.step()
    for p, tensor in zip(group, tensors, strict=True):
        np.testing.assert_allclose(p.value, tensor.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("name", "config"), [
    ("sgd", dict(momentum=0.9, dampening=0.3, weight_decay=0.01, maximize=True)),
    ("sgd", dict(momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("adam", dict(amsgrad=True, weight_decay=0.1)),
    ("adam", dict(maximize=True)),
    ("adamw", dict(amsgrad=True, maximize=True)),
    ("rmsprop", dict(centered=True, momentum=0.5, weight_decay=0.01)),
    ("rmsprop", dict(centered=True, maximize=True))])
def test_the_kit_passes_the_options(name, config):
    check_optimizer(name, **config)


def test_sgd_dampening_and_weight_decay_by_hand(rng):
    lr, mu, damp, wd = 0.1, 0.9, 0.3, 0.05
    group, grads = problem(rng)
    p, b = [q.value.copy() for q in group], None
    for step in grads:
        g = [-gi + wd * pi for gi, pi in zip(step, p, strict=True)]  # maximize
        b = g if b is None else [mu * bi + (1 - damp) * gi for bi, gi in zip(b, g, strict=True)]
        p = [pi - lr * bi for pi, bi in zip(p, b, strict=True)]
    descend(nnframe.optimizer("sgd", learning_rate=lr, momentum=mu, dampening=damp,
                              weight_decay=wd, maximize=True), group, grads)
    for q, expected in zip(group, p, strict=True):
        np.testing.assert_allclose(q.value, expected, rtol=1e-12)


def test_amsgrad_divides_by_the_largest_second_moment(rng):
    """A large gradient, then small ones: AMSGrad keeps the large second moment, so its
    steps are smaller than Adam's."""
    steps = {}
    for amsgrad in (False, True):
        group, _ = problem(np.random.default_rng(0))
        grads = [[np.full(p.value.shape, g) for p in group] for g in (10.0, 0.1, 0.1, 0.1)]
        optimizer = nnframe.optimizer("adam", learning_rate=0.1, beta2=0.5, amsgrad=amsgrad)
        start = group.values.copy()
        descend(optimizer, group, grads)
        steps[amsgrad] = np.abs(group.values - start).max()
        assert ("v_max" in optimizer.state["0.bias"]) == amsgrad
    assert steps[True] < steps[False]


def test_centred_rmsprop_keeps_the_mean_gradient(rng):
    group, grads = problem(rng)
    optimizer = nnframe.optimizer("rmsprop", centered=True)
    descend(optimizer, group, grads)
    alpha, mean = 0.99, np.zeros(4)
    for step in grads:
        mean = alpha * mean + (1 - alpha) * step[1]
    np.testing.assert_allclose(optimizer.state["0.bias"]["grad_avg"], mean, rtol=1e-12)


@pytest.mark.parametrize("case", CASES[::5], ids=case_id)
def test_float32_stays_float32(case, rng):
    name, _, lr, config = case
    group, grads = problem(rng, np.float32)
    optimizer = nnframe.optimizer(name, learning_rate=lr, **config)
    descend(optimizer, group, grads)
    assert group.values.dtype == np.float32
    assert all(a.dtype == np.float32 for s in optimizer.state.values() for a in s.values())


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop"])
def test_the_defaults_keep_the_tuned_kernels(name, rng, monkeypatch):
    """Default configs never take the rules as written (the tuned kernels stay the path)."""
    for module, rule in ((sgd, "sgd_rule"), (adam, "adam_rule"), (rmsprop, "rmsprop_rule")):
        monkeypatch.setattr(module, rule, None)
    group, grads = problem(rng)
    descend(nnframe.optimizer(name), group, grads)
    descend(nnframe.optimizer(name, momentum=0.9) if name in ("sgd", "rmsprop")
            else nnframe.optimizer(name, weight_decay=0.1), group, grads)


def test_configs_keep_their_old_form_and_round_trip():
    assert nnframe.optimizer("adam").get_config() == {
        "learning_rate": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    assert nnframe.optimizer("rmsprop").get_config() == {
        "learning_rate": 0.01, "alpha": 0.99, "eps": 1e-8, "momentum": 0.0}
    config = nnframe.optimizer("sgd", momentum=0.5, dampening=0.1, maximize=True).get_config()
    assert config == {"learning_rate": 0.01, "momentum": 0.5, "nesterov": False,
                      "dampening": 0.1, "maximize": True}
    assert nnframe.optimizer("sgd", **config).get_config() == config
    assert nnframe.optimizer("adamw", amsgrad=True).get_config()["amsgrad"] is True


def test_adamw_keeps_its_positional_arguments():
    from nnframe.optimizers.adam import AdamW

    assert AdamW(0.1, 0.8, 0.9, 1e-6, 0.2).weight_decay == 0.2


@pytest.mark.parametrize(("name", "config", "match"), [
    ("sgd", dict(momentum=0.9, nesterov=True, dampening=0.1), "dampening 0"),
    ("sgd", dict(dampening=1.0), "dampening"),
    ("sgd", dict(weight_decay=-1.0), "weight_decay"),
    ("rmsprop", dict(weight_decay=float("inf")), "weight_decay")])
def test_bad_options_are_refused(name, config, match):
    with pytest.raises(nnframe.ConfigError, match=match):
        nnframe.optimizer(name, **config)


def test_state_with_the_options_round_trips(rng):
    group, grads = problem(rng)
    first = nnframe.optimizer("rmsprop", centered=True, momentum=0.5)
    descend(first, group, grads[:3])
    second = nnframe.optimizer("rmsprop", centered=True, momentum=0.5)
    second.load_state_dict(first.state_dict())
    copy = ParameterGroup.allocate(SHAPES, np.float64)
    copy.values[...] = group.values
    descend(first, group, grads[3:])
    descend(second, copy, grads[3:])
    np.testing.assert_array_equal(group.values, copy.values)
