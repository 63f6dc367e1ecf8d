"""The finite-difference criterion: float64 rounding passes, real bugs fail.

`nnframe.testing.gradient_mismatch` lets each element differ by a relative part and by the
rounding a central difference carries (machine epsilon times the magnitude of the energy's
terms over the step). These tests hold it to both halves of its job: a gradient that is
right but cancels to almost zero passes, and each classic mistake in a backward pass
(a sign flip, a transposed weight, a missing term, a subtly wrong constant, a mean
instead of a sum over the batch) fails, in `assert_layer_gradients` and in `check_layer`.
"""

from __future__ import annotations

import numpy as np
import pytest

import nnframe
from nnframe.testing import (
    assert_gradient_matches,
    assert_layer_gradients,
    check_layer,
    gradient_mismatch,
    numerical_gradient,
    rounding_tolerance,
)
from tests import planted

F64 = np.dtype("float64")


def test_rounding_noise_on_a_gradient_that_cancels_passes():
    """An element whose true value is ~0 is compared with the rounding the differences
    carry, not with its own (tiny) size."""
    analytic = np.array([1.0, -0.5, 0.0])
    noise = 0.3 * rounding_tolerance(scale=10.0)
    numeric = analytic + np.array([1e-13, 0.0, noise])
    assert gradient_mismatch(analytic, numeric, scale=10.0).passed


def test_the_absolute_part_scales_with_the_magnitudes_and_the_step():
    assert rounding_tolerance(20.0) == pytest.approx(2 * rounding_tolerance(10.0))
    assert rounding_tolerance(1.0, step=1e-5) == pytest.approx(
        rounding_tolerance(1.0, step=1e-6) / 10)


def test_a_relative_error_above_rtol_fails_and_names_the_element():
    analytic = np.array([[1.0, 2.0], [3.0, 4.0]])
    numeric = analytic.copy()
    numeric[1, 0] *= 1 + 1e-4
    mismatch = gradient_mismatch(analytic, numeric, scale=1.0)
    assert not mismatch.passed and mismatch.index == (1, 0)
    message = r"grads\[w\]\[1, 0\]: backward 3, finite differences 3.0003, error 0.0003"
    with pytest.raises(AssertionError, match=message):
        assert_gradient_matches("grads[w]", analytic, numeric, scale=1.0)


def test_nan_and_shape_mismatches_fail():
    assert not gradient_mismatch(np.array([np.nan]), np.array([1.0]), scale=1.0).passed
    with pytest.raises(AssertionError, match="shape"):
        assert_gradient_matches("x", np.zeros(3), np.zeros(4), scale=1.0)


def test_a_correct_deep_stack_passes_at_a_coarse_and_a_fine_step(rng):
    """The stack that a bare relative error with a fixed floor once failed (rounding in a
    small element of a recurrent-like chain): right at either step."""
    L = nnframe.layer
    layer = L("sequential", layers=[L("dense", output_size=6), L("tanh"),
                                    L("layer_norm"), L("dense", output_size=5),
                                    L("sigmoid"), L("dense", output_size=3)])
    layer.build((4,), rng, F64)
    x = rng.standard_normal((5, 4))
    for step in (1e-5, 1e-6):
        ratios = assert_layer_gradients(layer, x, np.random.default_rng(1), step=step)
        assert max(ratios.values()) < 1.0


MUTANTS = [
    ("sign flip", planted.SignFlippedDense, {"input_size": 4, "output_size": 3}, (4,)),
    ("transposed weight", planted.TransposedDense, {"input_size": 4, "output_size": 4},
     (4,)),
    ("missing term", planted.LayerNormMissingTerm, {}, (2, 5)),
    ("wrong eps in backward", planted.LayerNormEpsMismatch, {}, (2, 5)),
    ("mean instead of sum over the batch", planted.Scale, {"bug": "batch_mean"}, (3,)),
]


@pytest.mark.parametrize(("bug", "factory", "config", "shape"), MUTANTS,
                         ids=[m[0] for m in MUTANTS])
def test_assert_layer_gradients_catches(bug, factory, config, shape, rng):
    layer = factory(**config)
    layer.build(shape, rng, F64)
    for value in layer.params.values():  # off ones and zeros, which can hide a bug
        value += 0.3 * rng.standard_normal(value.shape)
    with pytest.raises(AssertionError, match="error"):
        assert_layer_gradients(layer, 2 * rng.standard_normal((4, *shape)), rng)


@pytest.mark.parametrize(("bug", "factory", "config", "shape"), MUTANTS,
                         ids=[m[0] for m in MUTANTS])
def test_the_kit_catches(bug, factory, config, shape):
    report = check_layer(factory, shape, raises=False, **config)
    failed = {f.name for f in report.failures}
    assert failed & {"gradient(input)", "gradient(weights)", "gradient(gamma)",
                     "gradient(scale)"}, report.summary()


@pytest.mark.parametrize(("bug", "factory", "config", "shape"), MUTANTS,
                         ids=[m[0] for m in MUTANTS])
def test_the_unmutated_layers_pass(bug, factory, config, shape, rng):
    healthy = {planted.Scale: (lambda: planted.Scale())}.get(
        factory, lambda: factory.__mro__[1](**config))
    layer = healthy()
    layer.build(shape, rng, F64)
    assert_layer_gradients(layer, rng.standard_normal((4, *shape)), rng)


def test_a_loss_missing_a_factor_fails(rng):
    """mse whose gradient forgets the 2: the loss check fails too."""
    y_true, y_pred = rng.standard_normal((2, 6, 3))
    loss = nnframe.loss("mse")
    value = loss.forward(y_true, y_pred)
    numeric = numerical_gradient(lambda: loss.forward(y_true, y_pred), y_pred)
    loss.forward(y_true, y_pred)
    with pytest.raises(AssertionError):
        assert_gradient_matches("dE/dy_pred", loss.backward() / 2, numeric, scale=value)
