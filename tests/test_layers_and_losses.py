"""The standard layers and losses: gradients (float64 finite differences), values, errors."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe
from nnframe.testing import assert_layer_gradients, assert_loss_gradient


def built(name, input_shape, rng, **config):
    layer = nnframe.layer(name, **config)
    layer.build(input_shape, rng, np.dtype("float64"))
    return layer


@pytest.mark.parametrize(
    ("name", "config"),
    [("sigmoid", {}), ("relu", {}), ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.2}),
     ("softmax", {}), ("flatten", {}), ("tanh", {})],
)
@pytest.mark.parametrize("input_shape", [(6,), (3, 4, 2)])
def test_layer_gradients(name, config, input_shape, rng):
    layer = built(name, input_shape, rng, **config)
    x = rng.standard_normal((5, *input_shape))
    if name in ("relu", "leaky_relu"):
        x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink, where no derivative exists
    assert_layer_gradients(layer, x, rng)


def test_dropout_gradient_uses_the_same_mask(rng):
    layer = built("dropout", (4, 3), rng, rate=0.4)
    x = rng.standard_normal((6, 4, 3))
    y = layer.forward(x, training=True)
    upstream = rng.standard_normal(y.shape)
    grad = layer.backward(upstream)
    mask = y / x
    np.testing.assert_allclose(grad, upstream * mask)


@pytest.mark.parametrize(
    ("name", "config", "y_true"),
    [
        ("mse", {}, "dense"),
        ("mae", {}, "dense"),
        ("huber", {}, "dense"),
        ("huber", {"delta": 0.3}, "dense"),
        ("cross_entropy", {}, "labels"),
        ("cross_entropy", {}, "one_hot"),
        ("binary_cross_entropy", {}, "binary"),
    ],
)
def test_loss_gradients(name, config, y_true, rng):
    y_pred = rng.standard_normal((7, 4)) * 2
    targets = {
        "dense": rng.standard_normal((7, 4)),
        "labels": rng.integers(0, 4, size=7),
        "one_hot": nnframe.one_hot(rng.integers(0, 4, size=7), 4, dtype="float64"),
        "binary": rng.integers(0, 2, size=(7, 4)).astype(np.float64),
    }[y_true]
    if name in ("mae", "huber"):
        gap = y_pred - targets
        y_pred[np.abs(gap) < 1e-3] += 0.1  # away from the kinks
        if name == "huber":
            delta = config.get("delta", 1.0)
            y_pred[np.abs(np.abs(y_pred - targets) - delta) < 1e-3] += 0.1
    assert_loss_gradient(nnframe.loss(name, **config), targets, y_pred)


def test_loss_values_against_direct_formulas(rng):
    y_pred = rng.standard_normal((5, 3))
    y_true = rng.standard_normal((5, 3))
    d = y_pred - y_true
    assert nnframe.loss("mae").forward(y_true, y_pred) == pytest.approx(np.mean(np.abs(d)))
    huber = np.where(np.abs(d) <= 1.0, 0.5 * d**2, np.abs(d) - 0.5)
    assert nnframe.loss("huber").forward(y_true, y_pred) == pytest.approx(np.mean(huber))
    labels = np.array([0, 2, 1, 1, 0])
    probabilities = np.exp(y_pred) / np.exp(y_pred).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(probabilities[np.arange(5), labels]))
    assert nnframe.loss("cross_entropy").forward(labels, y_pred) == pytest.approx(expected)
    assert nnframe.loss("cross_entropy").forward(
        nnframe.one_hot(labels, 3, "float64"), y_pred) == pytest.approx(expected)
    targets = (y_true > 0).astype(float)
    sigmoid = 1 / (1 + np.exp(-y_pred))
    bce = -np.mean(targets * np.log(sigmoid) + (1 - targets) * np.log(1 - sigmoid))
    assert nnframe.loss("binary_cross_entropy").forward(targets, y_pred) == pytest.approx(bce)


def test_cross_entropy_gradient_is_softmax_minus_one_hot_over_n(rng):
    logits = rng.standard_normal((4, 3))
    labels = np.array([2, 0, 1, 2])
    loss = nnframe.loss("cross_entropy")
    loss.forward(labels, logits)
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = (softmax - nnframe.one_hot(labels, 3, "float64")) / 4
    np.testing.assert_allclose(loss.backward(), expected, atol=1e-12)


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_cross_entropy_stays_finite_for_huge_logits(scale):
    logits = np.array([[scale, 0.0, -scale], [0.0, scale, 1.0]], dtype=np.float32)
    labels = np.array([2, 0])
    for loss, targets in ((nnframe.loss("cross_entropy"), labels),
                          (nnframe.loss("binary_cross_entropy"), np.ones_like(logits))):
        value = loss.forward(targets, logits)
        assert np.isfinite(value) and value > 0
        assert np.isfinite(loss.backward()).all()
    right = nnframe.loss("cross_entropy").forward(np.array([0]), np.array([[1e4, 0.0]]))
    assert right == pytest.approx(0.0)


def test_softmax_layer_is_stable_and_sums_to_one():
    y = nnframe.layer("softmax").forward(np.array([[1e4, 0.0, -1e4]], dtype=np.float32))
    assert np.isfinite(y).all() and y.sum() == pytest.approx(1.0)
    assert y.dtype == np.float32


def test_sigmoid_does_not_overflow():
    with np.errstate(over="raise"):
        y = nnframe.layer("sigmoid").forward(np.array([-1e4, 0.0, 1e4], dtype=np.float32))
    np.testing.assert_allclose(y, [0.0, 0.5, 1.0])


def test_flatten_shapes(rng):
    layer = nnframe.layer("flatten")
    assert layer.output_shape((28, 28, 1)) == (784,)
    x = rng.standard_normal((2, 3, 4))
    assert layer.forward(x, training=True).shape == (2, 12)
    assert layer.backward(np.ones((2, 12))).shape == (2, 3, 4)


# -- dropout -------------------------------------------------------------------------------


def test_dropout_is_the_identity_at_inference(rng):
    layer = built("dropout", (10,), rng, rate=0.5)
    x = rng.standard_normal((8, 10))
    assert layer.forward(x) is x


def test_dropout_scales_by_one_over_keep_probability_in_training(rng):
    layer = built("dropout", (1000,), rng, rate=0.25)
    x = np.ones((20, 1000), dtype=np.float32)
    y = layer.forward(x, training=True)
    assert y.dtype == np.float32
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert abs(np.mean(y == 0) - 0.25) < 0.02
    assert abs(y.mean() - 1.0) < 0.03


def test_dropout_is_reproducible_from_the_network_seed():
    x = np.random.default_rng(0).standard_normal((64, 8)).astype(np.float32)
    y = np.random.default_rng(1).standard_normal((64, 1)).astype(np.float32)
    weights = []
    for seed in (3, 3, 4):
        net = nnframe.Network([nnframe.layer("dense", 8, 16), nnframe.layer("dropout", rate=0.5),
                               nnframe.layer("dense", 16, 1)]).use("mse", "sgd")
        net.fit(x, y, epochs=2, batch_size=8, seed=seed, verbose=0)
        weights.append(net.parameters()[0].value.copy())
    assert np.array_equal(weights[0], weights[1])
    assert not np.array_equal(weights[0], weights[2])


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5])
def test_dropout_rate_outside_unit_interval(rate):
    with pytest.raises(nnframe.ConfigError, match=r"Dropout: rate .*\[0, 1\)"):
        nnframe.layer("dropout", rate=rate)


def test_unknown_init_name():
    with pytest.raises(nnframe.ConfigError,
                       match=r"Dense: init: unknown initializer 'glorot'.*he_normal"):
        nnframe.layer("dense", 2, 3, init="glorot")


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop"])
def test_negative_learning_rate(name):
    with pytest.raises(nnframe.ConfigError, match="learning_rate must be a number >= 0"):
        nnframe.optimizer(name, learning_rate=-0.01)


def test_cross_entropy_label_out_of_range():
    with pytest.raises(nnframe.DataError, match="cross_entropy: label 5 is out of range for 3"):
        nnframe.loss("cross_entropy").forward(np.array([0, 5]), np.zeros((2, 3)))
    with pytest.raises(nnframe.DataError, match="label -1"):
        nnframe.loss("cross_entropy").forward(np.array([0, -1]), np.zeros((2, 3)))


def test_cross_entropy_one_hot_width_mismatch():
    with pytest.raises(nnframe.DataError, match="width 4 but the logits have width 3"):
        nnframe.loss("cross_entropy").forward(np.eye(4)[:2], np.zeros((2, 3)))


def test_bad_labels_are_caught_before_training():
    net = nnframe.Network([nnframe.layer("dense", 2, 3)]).use("cross_entropy", "sgd")
    with pytest.raises(nnframe.DataError, match="label 7"):
        net.fit(np.zeros((4, 2)), np.array([0, 1, 2, 7]), verbose=0)
    assert net.epoch == 0  # refused before the first batch
