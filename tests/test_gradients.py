"""Finite-difference gradient checks (float64) for the built-in components and a network."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe
from nnframe.testing import layer_gradient_errors, loss_gradient_error, numerical_gradient

TOLERANCE = 1e-6


def built(layer, input_shape, rng):
    layer.build(input_shape, rng, np.dtype("float64"))
    return layer


@pytest.mark.parametrize("input_shape", [(4,), (3, 4)])
def test_dense_gradients(input_shape, rng):
    layer = built(nnframe.layer("dense", output_size=3), input_shape, rng)
    # a non-zero bias, so a wrong bias gradient cannot hide behind zeros
    layer.params["bias"][...] = rng.standard_normal(3)
    x = rng.standard_normal((5, *input_shape))
    errors = layer_gradient_errors(layer, x, rng)
    assert set(errors) == {"input", "weights", "bias"}
    assert max(errors.values()) < TOLERANCE, errors


def test_tanh_gradient(rng):
    layer = built(nnframe.layer("tanh"), (3, 4), rng)
    errors = layer_gradient_errors(layer, rng.standard_normal((5, 3, 4)), rng)
    assert errors["input"] < TOLERANCE


def test_mse_gradient(rng):
    y_true = rng.standard_normal((6, 3))
    y_pred = rng.standard_normal((6, 3))
    assert loss_gradient_error(nnframe.loss("mse"), y_true, y_pred) < TOLERANCE


def test_mse_value_is_mean_over_batch(rng):
    y_true, y_pred = rng.standard_normal((2, 8, 3))
    assert nnframe.loss("mse").forward(y_true, y_pred) == pytest.approx(
        np.mean((y_pred - y_true) ** 2)
    )


def test_whole_network_gradient(rng):
    """dE/dparam through the whole network, for every parameter, batch of 7."""
    net = nnframe.Network(
        [nnframe.layer("dense", 4, 5), nnframe.layer("tanh"),
         nnframe.layer("dense", 5, 3), nnframe.layer("tanh")],
        dtype="float64",
    ).use("mse")
    net.build((4,), seed=3)
    x = rng.standard_normal((7, 4))
    y = rng.standard_normal((7, 3))

    def loss() -> float:
        return net.loss.forward(y, net.forward(x))

    net.loss.forward(y, net.forward(x, training=True))
    net.backward(net.loss.backward())
    for parameter in net.parameters():
        analytic = parameter.grad.copy()
        numeric = numerical_gradient(loss, parameter.value)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-9,
                                   err_msg=parameter.key)
