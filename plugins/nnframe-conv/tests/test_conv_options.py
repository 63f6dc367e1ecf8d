"""conv2d's PyTorch options: groups (depthwise included), dilation, explicit padding, padding
modes and a bias-free kernel; finite-difference gradients, the empty batch, bad arguments
and, where torch is installed, float64 parity with ``torch.nn.functional.conv2d``."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe

nnframe_conv = pytest.importorskip(
    "nnframe_conv", reason="nnframe-conv is not installed: `pip install ./plugins/nnframe-conv` "
    "or run `nox -s tests`")
Conv2D = nnframe_conv.Conv2D

F64 = np.dtype("float64")

#: (config, input sample shape): every option alone and in combination.
OPTIONS = [
    ({"filters": 4, "kernel_size": 3, "groups": 2}, (6, 5, 4)),
    ({"filters": 6, "kernel_size": 3, "groups": 3, "stride": 2}, (7, 6, 3)),  # depthwise x2
    ({"filters": 3, "kernel_size": 3, "groups": 3, "padding": 1}, (5, 5, 3)),  # depthwise
    ({"filters": 4, "kernel_size": 3, "dilation": 2}, (7, 8, 2)),
    ({"filters": 2, "kernel_size": (2, 3), "dilation": (2, 1), "stride": (1, 2)}, (6, 7, 1)),
    ({"filters": 4, "kernel_size": 3, "padding": 1}, (5, 5, 2)),
    ({"filters": 4, "kernel_size": (3, 2), "padding": (2, 0), "stride": 2}, (6, 5, 1)),
    ({"filters": 3, "kernel_size": 3, "padding": 2, "padding_mode": "reflect"}, (5, 4, 2)),
    ({"filters": 3, "kernel_size": 3, "padding": (1, 2), "padding_mode": "replicate"},
     (4, 5, 2)),
    ({"filters": 3, "kernel_size": 3, "padding": 2, "padding_mode": "circular",
      "stride": 2}, (5, 4, 2)),
    ({"filters": 4, "kernel_size": 3, "padding": "same", "padding_mode": "reflect"},
     (5, 6, 1)),
    ({"filters": 4, "kernel_size": 3, "use_bias": False}, (5, 5, 2)),
    ({"filters": 4, "kernel_size": 3, "groups": 2, "dilation": 2, "padding": 2,
      "padding_mode": "circular", "use_bias": False}, (6, 6, 4)),
]
IDS = [",".join(f"{k}={v}" for k, v in config.items() if k != "filters")
       for config, _ in OPTIONS]


def built(config, shape, rng):
    layer = Conv2D(**config)
    layer.build(shape, rng, F64)
    if "bias" in layer.params:  # non-zero, so its gradient cannot hide behind zeros
        layer.params["bias"][...] = rng.standard_normal(layer.params["bias"].shape)
    return layer


@pytest.mark.parametrize(("config", "shape"), OPTIONS, ids=IDS)
def test_conv2d_option_gradients(config, shape, rng, check_gradients):
    layer = built(config, shape, rng)
    check_gradients(layer, rng.standard_normal((2, *shape)), rng)


@pytest.mark.parametrize(("config", "shape"), OPTIONS, ids=IDS)
def test_conv2d_options_pass_the_kit(config, shape):
    from nnframe.testing import check_layer

    check_layer(Conv2D, shape, **config)


def _torch_padding(layer, x):
    """nnframe's padding as torch.nn.functional.pad on an NCHW tensor, or 0."""
    import torch.nn.functional as tf

    rows, cols = layer._axes(*x.shape[2:])
    pads = (cols.pad_before, cols.pad_after, rows.pad_before, rows.pad_after)
    mode = "constant" if layer.padding_mode == "zeros" else layer.padding_mode
    return tf.pad(x, pads, mode=mode)


@pytest.mark.parametrize(("config", "shape"), OPTIONS, ids=IDS)
def test_conv2d_options_match_torch(config, shape, rng):
    torch = pytest.importorskip("torch")
    layer = built(config, shape, rng)
    x = rng.standard_normal((3, *shape))
    upstream = rng.standard_normal((3, *layer.output_shape(shape)))
    y = layer.forward(x, training=True)
    grad_input = layer.backward(upstream)

    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    weight = torch.tensor(layer.params["weights"].transpose(3, 2, 0, 1), requires_grad=True)
    bias = (torch.tensor(layer.params["bias"], requires_grad=True)
            if layer.use_bias else None)
    if isinstance(layer.padding, tuple) and layer.padding_mode == "zeros":
        # PyTorch's own argument, where it has one
        ty = torch.nn.functional.conv2d(tx, weight, bias, layer.stride, layer.padding,
                                        layer.dilation, layer.groups)
    else:
        ty = torch.nn.functional.conv2d(_torch_padding(layer, tx), weight, bias,
                                        layer.stride, 0, layer.dilation, layer.groups)
    ty.backward(torch.tensor(upstream.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 3, 1), atol=1e-12)
    np.testing.assert_allclose(grad_input, tx.grad.numpy().transpose(0, 2, 3, 1), atol=1e-12)
    np.testing.assert_allclose(layer.grads["weights"],
                               weight.grad.numpy().transpose(2, 3, 1, 0), atol=1e-12)
    if bias is not None:
        np.testing.assert_allclose(layer.grads["bias"], bias.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_padding_modes_match_torch_conv2d_module(mode, rng):
    """The module's own padding_mode argument, as a PyTorch user writes it."""
    torch = pytest.importorskip("torch")
    module = torch.nn.Conv2d(2, 3, 3, padding=2, padding_mode=mode).double()
    layer = Conv2D(3, 3, padding=2, padding_mode=mode)
    layer.build((5, 6, 2), rng, F64)
    layer.params["weights"][...] = module.weight.detach().numpy().transpose(2, 3, 1, 0)
    layer.params["bias"][...] = module.bias.detach().numpy()
    x = rng.standard_normal((2, 5, 6, 2))
    expected = module(torch.tensor(x.transpose(0, 3, 1, 2))).detach().numpy()
    np.testing.assert_allclose(layer.forward(x), expected.transpose(0, 2, 3, 1), atol=1e-12)


def test_bias_free_conv_has_no_bias_parameter(rng):
    layer = Conv2D(4, 3, use_bias=False)
    assert layer.parameter_shapes((5, 5, 2)) == {"weights": (3, 3, 2, 4)}
    layer.build((5, 5, 2), rng, F64)
    assert set(layer.params) == set(layer.grads) == {"weights"}


def test_grouped_weights_hold_the_channels_of_one_group(rng):
    layer = Conv2D(6, 3, groups=3)
    assert layer.parameter_shapes((5, 5, 6)) == {"weights": (3, 3, 2, 6), "bias": (6,)}


def test_a_depthwise_filter_sees_only_its_own_channel(rng):
    layer = built({"filters": 2, "kernel_size": 1, "groups": 2, "use_bias": False},
                  (3, 3, 2), rng)
    x = rng.standard_normal((1, 3, 3, 2))
    y = layer.forward(x)
    scale = layer.params["weights"][0, 0, 0]
    np.testing.assert_allclose(y, x * scale, atol=1e-15)


@pytest.mark.parametrize(("config", "shape"), [({"filters": 3, "kernel_size": 2}, (4, 4, 1)),
                                              ({"filters": 3, "kernel_size": 2}, (4, 4, 3)),
                                              *OPTIONS[:3]])
def test_empty_batch_gives_empty_gradients(config, shape, rng):
    layer = built(config, shape, rng)
    y = layer.forward(np.zeros((0, *shape)), training=True)
    assert y.shape == (0, *layer.output_shape(shape))
    assert layer.backward(np.zeros(y.shape)).shape == (0, *shape)
    assert all((g == 0).all() for g in layer.grads.values())


def test_defaults_are_the_layer_saved_models_hold():
    assert Conv2D(4, 3).get_config() == {
        "filters": 4, "kernel_size": [3, 3], "stride": [1, 1], "padding": "valid",
        "init": "glorot_uniform", "dilation": [1, 1], "groups": 1, "padding_mode": "zeros",
        "use_bias": True}


def test_explicit_padding_config_survives_toml_lists():
    layer = nnframe.layer("conv2d", 4, 3, padding=[1, 2])
    assert layer.padding == (1, 2)
    assert nnframe.layer("conv2d", 4, 3, padding=1).padding == (1, 1)


@pytest.mark.parametrize(("kwargs", "shape", "message"), [
    ({"groups": 2}, (5, 5, 3), "groups=2 must divide both the input channels (3)"),
    ({"groups": 3, "filters": 4}, (5, 5, 3), "and filters (4)"),
    ({"padding": 3, "padding_mode": "reflect"}, (3, 5, 1), "pads 3 cells on the top or bottom"),
    ({"padding": (0, 6), "padding_mode": "circular"}, (5, 5, 1), "at most 5"),
])
def test_bad_option_combinations_are_shape_errors(kwargs, shape, message, rng):
    layer = Conv2D(**{"filters": 3, "kernel_size": 3, **kwargs})
    with pytest.raises(nnframe.ShapeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        layer.build(shape, rng, F64)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"padding": -1}, "cells padded on each side"),
    ({"padding": "full"}, "'valid' \\(no padding\\), 'same'"),
    ({"padding_mode": "mirror"}, "padding_mode must be one of 'zeros', 'reflect'"),
    ({"dilation": 0}, "dilation must be a positive integer"),
    ({"groups": 0}, "groups"),
    ({"use_bias": "no"}, "use_bias must be true or false"),
])
def test_bad_option_values_are_config_errors(kwargs, message):
    with pytest.raises(nnframe.ConfigError, match=message):
        Conv2D(3, 3, **kwargs)
