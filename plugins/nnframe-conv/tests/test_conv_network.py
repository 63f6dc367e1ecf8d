"""The conv layers inside an nnframe Network: end-to-end gradients, dtypes, training, and
errors that name the layer's index and name."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe
from nnframe.summary import summary_rows
from nnframe.testing import assert_gradient_matches, loss_scale, numerical_gradient

pytest.importorskip(
    "nnframe_conv", reason="nnframe-conv is not installed: `pip install ./plugins/nnframe-conv` "
    "or run `nox -s tests`")

L = nnframe.layer


def small_cnn(dtype: str = "float32") -> nnframe.Network:
    """(6, 6, 2) -> conv same -> tanh -> maxpool -> conv valid -> avgpool -> dense: (1, 1, 2).

    Dense works on the last axis, so no flatten is needed for a 1x1 map."""
    return nnframe.Network([
        L("conv2d", 3, 3, padding="same"), L("tanh"), L("maxpool2d", 2),
        L("conv2d", 4, 2, stride=1), L("tanh"), L("avgpool2d", 2),
        L("dense", output_size=2),
    ], dtype=dtype)


def test_whole_network_gradient_float64(rng):
    net = small_cnn("float64").use("mse")
    net.build((6, 6, 2), seed=5)
    for layer in net.layers:  # non-zero biases, so their gradients are checked for real
        if "bias" in layer.params:
            layer.params["bias"][...] = rng.standard_normal(layer.params["bias"].shape)
    x = rng.standard_normal((3, 6, 6, 2))
    y = rng.standard_normal((3, 1, 1, 2))

    def loss() -> float:
        return net.loss.forward(y, net.forward(x))

    output = net.forward(x, training=True)
    value = net.loss.forward(y, output)
    net.backward(net.loss.backward())
    parameters = net.parameters()
    assert len(parameters) == 6
    for parameter in parameters:
        analytic = parameter.grad.copy()
        assert_gradient_matches(parameter.key, analytic, numerical_gradient(
            loss, parameter.value), scale=loss_scale(value, output))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_network_keeps_its_dtype_end_to_end(dtype, rng):
    net = small_cnn(dtype).use("mse", "sgd")
    x = rng.standard_normal((4, 6, 6, 2))
    net.fit(x, rng.standard_normal((4, 1, 1, 2)), epochs=1, batch_size=2, seed=0, verbose=0)
    assert {p.value.dtype for p in net.parameters()} == {np.dtype(dtype)}
    assert {p.grad.dtype for p in net.parameters()} == {np.dtype(dtype)}
    assert net.predict(x).dtype == np.dtype(dtype)


def bars(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """8x8 images holding one horizontal (target -0.5) or vertical (target +0.5) bar."""
    x = rng.normal(0.0, 0.1, (n, 8, 8, 1)).astype(np.float32)
    vertical = rng.random(n) < 0.5
    where = rng.integers(1, 7, n)
    for i in range(n):  # building the data set, not training
        if vertical[i]:
            x[i, :, where[i], 0] += 1.0
        else:
            x[i, where[i], :, 0] += 1.0
    y = np.where(vertical, 0.5, -0.5).astype(np.float32).reshape(n, 1, 1, 1)
    return x, y


def test_a_small_cnn_learns_bar_orientation(rng):
    x, y = bars(rng, 256)
    net = nnframe.Network([
        L("conv2d", 4, 3), L("tanh"), L("maxpool2d", 2),      # (3, 3, 4)
        L("conv2d", 4, 3), L("tanh"),                          # (1, 1, 4)
        L("dense", output_size=1), L("tanh"),
    ]).use("mse", nnframe.optimizer("sgd", learning_rate=0.1, momentum=0.9))
    history = net.fit(x, y, epochs=15, batch_size=16, seed=0, verbose=0)
    assert history["loss"][-1] < history["loss"][0] / 5
    x_test, y_test = bars(rng, 64)
    assert np.mean(np.sign(net.predict(x_test)) == np.sign(y_test)) > 0.9


def test_flat_input_error_names_layer_index_and_says_how_to_reshape(rng):
    net = nnframe.Network([L("conv2d", 4, 3), L("tanh"), L("dense", output_size=1)])
    net.use("mse", "sgd")
    with pytest.raises(nnframe.ShapeError) as info:
        net.fit(rng.random((8, 784)), rng.random((8, 1)), epochs=1, verbose=0)
    message = str(info.value)
    assert message.startswith("layer 0 (conv2d from nnframe-conv): ")
    assert "reshape flat samples to (N, H, W, C), e.g. x.reshape(-1, 28, 28, 1)" in message


def test_layer_after_a_flattening_dense_is_named_with_its_index():
    net = nnframe.Network([L("dense", output_size=10), L("tanh"), L("maxpool2d", 2)])
    with pytest.raises(nnframe.ShapeError,
                       match=r"^layer 2 \(maxpool2d from nnframe-conv\): maxpool2d expects"):
        net.build((16,))


def test_kernel_too_large_deep_in_the_network_is_named_with_its_index():
    net = nnframe.Network([L("conv2d", 4, 3), L("maxpool2d", 2), L("conv2d", 4, 5)])
    with pytest.raises(nnframe.ShapeError,
                       match=r"^layer 2 \(conv2d from nnframe-conv\): conv2d: the 5x5 kernel "
                             r"is larger than the 4x4 \(padded\) input"):
        net.build((10, 10, 1))


def test_pool_too_large_deep_in_the_network_is_named_with_its_index():
    net = nnframe.Network([L("conv2d", 2, 3), L("maxpool2d", 2), L("avgpool2d", 3)])
    with pytest.raises(nnframe.ShapeError,
                       match=r"^layer 2 \(avgpool2d from nnframe-conv\): avgpool2d: the 3x3"):
        net.build((6, 6, 1))


def test_summary_lists_conv_shapes_and_parameter_counts():
    net = nnframe.Network([L("conv2d", 8, 3), L("maxpool2d", 2), L("conv2d", 16, 3),
                           L("avgpool2d", 2)])
    net.build((28, 28, 1), seed=0)
    rows = [(row.key, row.name, row.output_shape, row.params) for row in summary_rows(net)]
    assert rows == [
        ("0", "conv2d", (26, 26, 8), 3 * 3 * 1 * 8 + 8),
        ("1", "maxpool2d", (13, 13, 8), 0),
        ("2", "conv2d", (11, 11, 16), 3 * 3 * 8 * 16 + 16),
        ("3", "avgpool2d", (5, 5, 16), 0),
    ]
