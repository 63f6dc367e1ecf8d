"""Finite-difference gradient checks (float64) for the built-in components and a network."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe
from nnframe.testing import (
    assert_gradient_matches,
    assert_layer_gradients,
    assert_loss_gradient,
    loss_scale,
    numerical_gradient,
)


def built(layer, input_shape, rng):
    layer.build(input_shape, rng, np.dtype("float64"))
    return layer


@pytest.mark.parametrize("input_shape", [(4,), (3, 4)])
def test_dense_gradients(input_shape, rng):
    layer = built(nnframe.layer("dense", output_size=3), input_shape, rng)
    # a non-zero bias, so a wrong bias gradient cannot hide behind zeros
    layer.params["bias"][...] = rng.standard_normal(3)
    x = rng.standard_normal((5, *input_shape))
    ratios = assert_layer_gradients(layer, x, rng)
    assert set(ratios) == {"input", "weights", "bias"}


@pytest.mark.parametrize("input_shape", [(4,), (1, 4)])
def test_dense_gradients_of_one_sample(input_shape, rng):
    """One sample takes the outer product rather than GEMM: checked by differences, and
    the same floats as the product in float32."""
    layer = built(nnframe.layer("dense", output_size=3), input_shape, rng)
    x = rng.standard_normal((1, *input_shape))
    assert set(assert_layer_gradients(layer, x, rng)) == {"input", "weights", "bias"}
    single = nnframe.layer("dense", output_size=5)
    single.build((7,), rng, np.dtype("float32"))
    x32 = rng.standard_normal((1, 7)).astype(np.float32)
    g32 = rng.standard_normal((1, 5)).astype(np.float32)
    single.forward(x32, training=True)
    single.backward(g32)
    assert single.grads["weights"].dtype == np.float32
    np.testing.assert_array_equal(single.grads["weights"], x32.T @ g32)


def test_tanh_gradient(rng):
    layer = built(nnframe.layer("tanh"), (3, 4), rng)
    assert_layer_gradients(layer, rng.standard_normal((5, 3, 4)), rng)


def test_mse_gradient(rng):
    y_true = rng.standard_normal((6, 3))
    y_pred = rng.standard_normal((6, 3))
    assert_loss_gradient(nnframe.loss("mse"), y_true, y_pred)


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

    value = net.loss.forward(y, output := net.forward(x, training=True))
    net.backward(net.loss.backward())
    for parameter in net.parameters():
        analytic = parameter.grad.copy()
        numeric = numerical_gradient(loss, parameter.value)
        assert_gradient_matches(parameter.key, analytic, numeric,
                                scale=loss_scale(value, output))
