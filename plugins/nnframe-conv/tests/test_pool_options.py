"""maxpool2d and avgpool2d with PyTorch's options: padding, max-pooling's dilation and
average-pooling's count_include_pad; finite differences, the kit, the empty batch and,
where torch is installed, float64 parity with torch.nn.MaxPool2d / AvgPool2d."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe

nnframe_conv = pytest.importorskip(
    "nnframe_conv", reason="nnframe-conv is not installed: `pip install ./plugins/nnframe-conv` "
    "or run `nox -s tests`")
MaxPool2D, AvgPool2D = nnframe_conv.MaxPool2D, nnframe_conv.AvgPool2D

F64 = np.dtype("float64")

#: (class, config, sample shape), each also a PyTorch configuration
TORCH_CASES = [
    (MaxPool2D, {"pool_size": 3, "stride": 2, "padding": 1}, (7, 6, 2)),
    (MaxPool2D, {"pool_size": 2, "padding": 1}, (5, 5, 3)),
    (MaxPool2D, {"pool_size": (3, 2), "stride": (2, 1), "padding": (1, 1)}, (6, 5, 1)),
    (MaxPool2D, {"pool_size": 2, "stride": 1, "dilation": 2}, (6, 6, 2)),
    (MaxPool2D, {"pool_size": 3, "stride": 2, "padding": 1, "dilation": (1, 2)}, (7, 8, 2)),
    (AvgPool2D, {"pool_size": 3, "stride": 2, "padding": 1}, (7, 6, 2)),
    (AvgPool2D, {"pool_size": 2, "padding": 1, "count_include_pad": False}, (5, 5, 3)),
    (AvgPool2D, {"pool_size": (3, 2), "stride": 1, "padding": (1, 0),
                 "count_include_pad": False}, (4, 5, 2)),
    (AvgPool2D, {"pool_size": 2, "padding": 1, "divisor_override": 3}, (5, 4, 2)),
    (AvgPool2D, {"pool_size": 3, "stride": 2, "divisor_override": 1}, (7, 6, 1)),
]
CASES = [*TORCH_CASES,
         (MaxPool2D, {"pool_size": 3, "stride": 2, "padding": "same"}, (7, 6, 2)),
         (AvgPool2D, {"pool_size": 2, "padding": "same", "count_include_pad": False},
          (5, 5, 2))]
IDS = [f"{cls.__name__}-" + ",".join(f"{k}={v}" for k, v in config.items())
       for cls, config, _ in CASES]


def built(cls, config, shape, rng):
    layer = cls(**config)
    layer.build(shape, rng, F64)
    return layer


@pytest.mark.parametrize(("cls", "config", "shape"), CASES, ids=IDS)
def test_pool_option_gradients(cls, config, shape, rng, check_gradients):
    layer = built(cls, config, shape, rng)
    check_gradients(layer, rng.standard_normal((2, *shape)), rng)


@pytest.mark.parametrize(("cls", "config", "shape"), CASES, ids=IDS)
def test_pool_options_pass_the_kit(cls, config, shape):
    from nnframe.testing import check_layer

    check_layer(cls, shape, **config)


@pytest.mark.parametrize(("cls", "config", "shape"), TORCH_CASES, ids=IDS[:len(TORCH_CASES)])
def test_pool_options_match_torch(cls, config, shape, rng):
    torch = pytest.importorskip("torch")
    layer = built(cls, config, shape, rng)
    x = rng.standard_normal((3, *shape))
    y = layer.forward(x, training=True)
    upstream = rng.standard_normal(y.shape)
    grad_input = layer.backward(upstream)
    common = {"kernel_size": layer.pool_size, "stride": layer.strides,
              "padding": 0 if layer.padding == "valid" else layer.padding}
    if cls is MaxPool2D:
        module = torch.nn.MaxPool2d(**common, dilation=layer.dilation)
    else:
        module = torch.nn.AvgPool2d(**common, count_include_pad=layer.count_include_pad,
                                    divisor_override=layer.divisor_override)
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    ty = module(tx)
    ty.backward(torch.tensor(upstream.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 3, 1), atol=1e-12)
    np.testing.assert_allclose(grad_input, tx.grad.numpy().transpose(0, 2, 3, 1), atol=1e-12)


def test_maxpool_padding_never_wins_over_negative_inputs(rng):
    layer = built(MaxPool2D, {"pool_size": 2, "padding": 1}, (2, 2, 1), rng)
    x = -np.arange(1.0, 5.0).reshape(1, 2, 2, 1)
    np.testing.assert_array_equal(layer.forward(x)[0, :, :, 0], [[-1, -2], [-3, -4]])


def test_avgpool_without_counting_padding_averages_the_covered_cells():
    layer = AvgPool2D(2, padding=1, count_include_pad=False)
    layer.build((2, 2, 1), np.random.default_rng(0), F64)
    x = np.arange(1.0, 5.0).reshape(1, 2, 2, 1)
    np.testing.assert_array_equal(layer.forward(x)[0, :, :, 0], [[1, 2], [3, 4]])
    counted = AvgPool2D(2, padding=1)
    counted.build((2, 2, 1), np.random.default_rng(0), F64)
    np.testing.assert_array_equal(counted.forward(x)[0, :, :, 0], [[0.25, 0.5], [0.75, 1]])


@pytest.mark.parametrize(("cls", "config", "shape"), CASES[:2] + CASES[5:9],
                         ids=IDS[:2] + IDS[5:9])
def test_pool_empty_batch(cls, config, shape, rng):
    layer = built(cls, config, shape, rng)
    y = layer.forward(np.zeros((0, *shape)), training=True)
    assert y.shape == (0, *layer.output_shape(shape))
    assert layer.backward(np.zeros(y.shape)).shape == (0, *shape)


def test_pool_defaults_keep_saved_configs():
    assert nnframe.layer("maxpool2d").get_config() == {
        "pool_size": [2, 2], "stride": None, "padding": "valid", "dilation": [1, 1]}
    assert nnframe.layer("avgpool2d").get_config() == {
        "pool_size": [2, 2], "stride": None, "padding": "valid", "count_include_pad": True,
        "divisor_override": None}


def test_padding_over_half_the_pool_is_refused(rng):
    layer = MaxPool2D(3, padding=2)
    with pytest.raises(nnframe.ConfigError, match="more than half the pool"):
        layer.build((6, 6, 1), rng, F64)
