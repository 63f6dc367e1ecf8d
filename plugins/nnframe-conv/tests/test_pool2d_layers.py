"""maxpool2d and avgpool2d: against direct loops, finite-difference gradients, arg-max ties,
odd sizes and bad input."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

import nnframe

nnframe_conv = pytest.importorskip(
    "nnframe_conv", reason="nnframe-conv is not installed: `pip install ./plugins/nnframe-conv` "
    "or run `nox -s tests`")
MaxPool2D, AvgPool2D = nnframe_conv.MaxPool2D, nnframe_conv.AvgPool2D

F64 = np.dtype("float64")
F32 = np.dtype("float32")


def reference_pool(x, pool, stride, reduce):
    """Pooling written out window by window (NHWC, no padding, floor)."""
    (ph, pw), (sh, sw) = pool, stride
    n, height, width, channels = x.shape
    out_h, out_w = (height - ph) // sh + 1, (width - pw) // sw + 1
    y = np.zeros((n, out_h, out_w, channels))
    for row in range(out_h):
        for col in range(out_w):
            window = x[:, row * sh:row * sh + ph, col * sw:col * sw + pw, :]
            y[:, row, col, :] = reduce(window, axis=(1, 2))
    return y


LAYERS = [(MaxPool2D, np.max), (AvgPool2D, np.mean)]
CASES = list(itertools.product(
    [2, 3, (2, 3)],               # pool size
    [None, 1, 2],                 # stride: the pool size (tiling when divisible), 1, 2
    [(6, 6), (7, 5)],             # even and odd sizes (odd ones are floored)
))


@pytest.mark.parametrize(("cls", "reduce"), LAYERS, ids=["max", "avg"])
@pytest.mark.parametrize(("pool", "stride", "size"), CASES)
def test_pool_matches_direct_reference(cls, reduce, pool, stride, size, rng):
    layer = cls(pool, stride)
    layer.build((*size, 3), rng, F64)
    x = rng.standard_normal((2, *size, 3))
    expected = reference_pool(x, layer.pool_size, layer.strides, reduce)
    assert layer.output_shape((*size, 3)) == expected.shape[1:]
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layer.forward(x, training=True), expected, rtol=1e-12,
                               atol=1e-15)


@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D], ids=["max", "avg"])
@pytest.mark.parametrize(("pool", "stride", "size"), CASES)
def test_pool_gradients(cls, pool, stride, size, rng, check_gradients):
    layer = cls(pool, stride)
    layer.build((*size, 3), rng, F64)
    check_gradients(layer, rng.standard_normal((2, *size, 3)), rng)


@pytest.mark.parametrize("stride", [None, 1, 3])
def test_maxpool_sends_each_window_gradient_to_its_first_argmax(stride, rng):
    """All-equal windows: the whole gradient goes to the first cell of each window."""
    layer = MaxPool2D(2, stride)
    size = (6, 6) if stride is None else (5, 7)
    x = np.ones((2, *size, 3))
    y = layer.forward(x, training=True)
    g = rng.uniform(1, 2, y.shape)
    grad = layer.backward(g)
    (sh, sw) = layer.strides
    expected = np.zeros_like(x)
    for row in range(y.shape[1]):
        for col in range(y.shape[2]):
            expected[:, row * sh, col * sw, :] += g[:, row, col, :]
    np.testing.assert_array_equal(grad, expected)


def test_maxpool_tie_inside_a_window_goes_to_the_first_in_row_major_order():
    x = np.array([[0.0, 5.0], [5.0, 5.0]]).reshape(1, 2, 2, 1)
    layer = MaxPool2D(2)
    layer.forward(x, training=True)
    grad = layer.backward(np.full((1, 1, 1, 1), 3.0))
    np.testing.assert_array_equal(grad.reshape(2, 2), [[0.0, 3.0], [0.0, 0.0]])


def test_maxpool_routes_exactly_one_cell_per_window_with_many_ties(rng):
    x = rng.integers(0, 2, (4, 8, 8, 5)).astype(np.float64)  # ties everywhere
    layer = MaxPool2D(2)
    y = layer.forward(x, training=True)
    grad = layer.backward(np.ones_like(y))
    blocks = grad.reshape(4, 4, 2, 4, 2, 5)
    np.testing.assert_array_equal(blocks.sum(axis=(2, 4)), np.ones_like(y))
    np.testing.assert_array_equal((blocks != 0).sum(axis=(2, 4)), np.ones_like(y))
    winners = (x.reshape(4, 4, 2, 4, 2, 5) * blocks).sum(axis=(2, 4))  # the routed cell
    np.testing.assert_array_equal(winners, y)


def test_avgpool_spreads_gradient_evenly():
    layer = AvgPool2D(2)
    layer.forward(np.zeros((1, 4, 4, 1)), training=True)
    grad = layer.backward(np.arange(4.0).reshape(1, 2, 2, 1))
    np.testing.assert_array_equal(grad[0, :, :, 0], np.kron([[0, 1], [2, 3]], np.ones((2, 2))) / 4)


@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D], ids=["max", "avg"])
def test_pool_odd_sizes_are_floored_and_leftover_cells_get_no_gradient(cls, rng):
    layer = cls(2)
    assert layer.output_shape((7, 5, 4)) == (3, 2, 4)
    x = rng.standard_normal((2, 7, 5, 4)).astype(np.float32)
    y = layer.forward(x, training=True)
    grad = layer.backward(np.ones_like(y))
    assert np.all(grad[:, 6, :, :] == 0)
    assert np.all(grad[:, :, 4, :] == 0)


@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D], ids=["max", "avg"])
@pytest.mark.parametrize("size", [(8, 8), (7, 7)])
def test_pool_stays_float32(cls, size, rng):
    layer = cls(2)
    layer.build((*size, 3), rng, F32)
    x = rng.standard_normal((2, *size, 3)).astype(np.float32)
    y = layer.forward(x, training=True)
    assert y.dtype == F32
    assert layer.backward(np.ones_like(y)).dtype == F32


@pytest.mark.parametrize("name", ["maxpool2d", "avgpool2d"])
def test_pool_config_round_trips(name):
    extra = ({"dilation": [1, 1]} if name == "maxpool2d"
             else {"count_include_pad": True, "divisor_override": None})
    layer = nnframe.layer(name)
    assert layer.get_config() == {"pool_size": [2, 2], "stride": None, "padding": "valid",
                                  **extra}
    config = nnframe.layer(name, pool_size=(3, 2), stride=1).get_config()
    assert json.loads(json.dumps(config)) == config == {
        "pool_size": [3, 2], "stride": [1, 1], "padding": "valid", **extra}
    assert nnframe.layer(name, **config).get_config() == config


@pytest.mark.parametrize("name", ["maxpool2d", "avgpool2d"])
@pytest.mark.parametrize(("kwargs", "field"), [
    ({"pool_size": 0}, "pool_size"),
    ({"pool_size": -2}, "pool_size"),
    ({"pool_size": (2, 0)}, "pool_size"),
    ({"stride": 0}, "stride"),
    ({"stride": -1}, "stride"),
])
def test_pool_rejects_non_positive_sizes(name, kwargs, field):
    with pytest.raises(nnframe.ConfigError, match=rf"{name}: {field} must be a positive integer"):
        nnframe.layer(name, **kwargs)


@pytest.mark.parametrize("name", ["maxpool2d", "avgpool2d"])
def test_pool_rejects_a_pool_larger_than_the_input(name, rng):
    with pytest.raises(nnframe.ShapeError, match=rf"{name}: the 3x3 pool is larger than the 2x5"):
        nnframe.layer(name, 3).build((2, 5, 1), rng, F32)


@pytest.mark.parametrize("name", ["maxpool2d", "avgpool2d"])
def test_pool_rejects_flat_input(name):
    layer = nnframe.layer(name)
    with pytest.raises(nnframe.ShapeError, match=rf"{name}.*reshape to \(N, H, W, C\)"):
        layer.forward(np.zeros((4, 16)))
    with pytest.raises(nnframe.ShapeError, match=rf"{name}.*\(H, W, C\)"):
        layer.output_shape((4, 4))
