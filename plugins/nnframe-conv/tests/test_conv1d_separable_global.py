"""conv1d, separable_conv2d, global_avg_pool and global_max_pool: finite-difference
gradients, the kit, the empty batch, errors and, where torch is installed, float64 parity
with torch's Conv1d, a depthwise + pointwise Conv2d pair and adaptive pooling."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe

nnframe_conv = pytest.importorskip(
    "nnframe_conv", reason="nnframe-conv is not installed: `pip install ./plugins/nnframe-conv` "
    "or run `nox -s tests`")

F64 = np.dtype("float64")

CONV1D = [
    ({"filters": 4, "kernel_size": 3}, (7, 2)),
    ({"filters": 3, "kernel_size": 2, "stride": 2, "padding": 1}, (8, 1)),
    ({"filters": 4, "kernel_size": 3, "dilation": 2, "groups": 2, "use_bias": False}, (9, 4)),
    ({"filters": 2, "kernel_size": 3, "padding": 2, "padding_mode": "circular"}, (5, 3)),
    ({"filters": 2, "kernel_size": 3, "padding": 1, "padding_mode": "reflect", "stride": 2},
     (6, 2)),
    ({"filters": 4, "kernel_size": 3, "padding": "same", "padding_mode": "replicate"}, (5, 2)),
]
SEPARABLE = [
    ({"filters": 3, "kernel_size": 3}, (5, 6, 2)),
    ({"filters": 4, "kernel_size": (3, 2), "depth_multiplier": 2, "stride": 2, "padding": 1,
      "use_bias": False}, (7, 6, 3)),
    ({"filters": 2, "kernel_size": 3, "dilation": 2, "padding": 2, "padding_mode": "reflect"},
     (6, 6, 2)),
]
GLOBAL = [("global_avg_pool", (4, 3, 2)), ("global_max_pool", (4, 3, 2)),
          ("global_avg_pool", (5, 3)), ("global_max_pool", (5, 3))]
ALL = ([("conv1d", config, shape) for config, shape in CONV1D]
       + [("separable_conv2d", config, shape) for config, shape in SEPARABLE]
       + [(name, {}, shape) for name, shape in GLOBAL])
IDS = [f"{name}-" + ",".join(f"{k}={v}" for k, v in config.items()) + f"-{shape}"
       for name, config, shape in ALL]


def built(name, config, shape, rng):
    layer = nnframe.layer(name, **config)
    layer.build(shape, rng, F64)
    for key, value in layer.params.items():
        if key == "bias":
            value[...] = rng.standard_normal(value.shape)
    return layer


@pytest.mark.parametrize(("name", "config", "shape"), ALL, ids=IDS)
def test_gradients(name, config, shape, rng, check_gradients):
    check_gradients(built(name, config, shape, rng), rng.standard_normal((2, *shape)), rng)


@pytest.mark.parametrize(("name", "config", "shape"), ALL, ids=IDS)
def test_passes_the_kit(name, config, shape):
    from nnframe.testing import check_layer

    check_layer(name, shape, **config)


@pytest.mark.parametrize(("name", "config", "shape"), ALL, ids=IDS)
def test_empty_batch(name, config, shape, rng):
    layer = built(name, config, shape, rng)
    y = layer.forward(np.zeros((0, *shape)), training=True)
    assert y.shape == (0, *layer.output_shape(shape))
    assert layer.backward(np.zeros(y.shape)).shape == (0, *shape)
    assert all((g == 0).all() for g in layer.grads.values())


def _torch_pad(torch, x, pads, mode):
    """x padded as nnframe pads it (pads: before/after pairs, last axis first)."""
    if not any(pads):
        return x
    return torch.nn.functional.pad(x, pads, mode="constant" if mode == "zeros" else mode)


@pytest.mark.parametrize(("config", "shape"), CONV1D)
def test_conv1d_matches_torch(config, shape, rng):
    torch = pytest.importorskip("torch")
    layer = built("conv1d", config, shape, rng)
    x = rng.standard_normal((3, *shape))
    y = layer.forward(x, training=True)
    upstream = rng.standard_normal(y.shape)
    grad_input = layer.backward(upstream)
    _, steps = layer._conv._axes(1, shape[0])
    tx = torch.tensor(x.transpose(0, 2, 1), requires_grad=True)
    weight = torch.tensor(layer.params["weights"].transpose(2, 1, 0), requires_grad=True)
    bias = torch.tensor(layer.params["bias"], requires_grad=True) if layer.use_bias else None
    padded = _torch_pad(torch, tx, (steps.pad_before, steps.pad_after), layer.padding_mode)
    ty = torch.nn.functional.conv1d(padded, weight, bias, layer.stride, 0, layer.dilation,
                                    layer.groups)
    ty.backward(torch.tensor(upstream.transpose(0, 2, 1)))
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 1), atol=1e-12)
    np.testing.assert_allclose(grad_input, tx.grad.numpy().transpose(0, 2, 1), atol=1e-12)
    np.testing.assert_allclose(layer.grads["weights"], weight.grad.numpy().transpose(2, 1, 0),
                               atol=1e-12)
    if bias is not None:
        np.testing.assert_allclose(layer.grads["bias"], bias.grad.numpy(), atol=1e-12)


def test_conv1d_matches_torch_conv1d_module(rng):
    """PyTorch's own arguments, as a PyTorch user writes them."""
    torch = pytest.importorskip("torch")
    module = torch.nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2).double()
    layer = nnframe.layer("conv1d", 6, 3, stride=2, padding=1, dilation=2, groups=2)
    layer.build((9, 4), rng, F64)
    layer.params["weights"][...] = module.weight.detach().numpy().transpose(2, 1, 0)
    layer.params["bias"][...] = module.bias.detach().numpy()
    x = rng.standard_normal((2, 9, 4))
    expected = module(torch.tensor(x.transpose(0, 2, 1))).detach().numpy().transpose(0, 2, 1)
    np.testing.assert_allclose(layer.forward(x), expected, atol=1e-12)


@pytest.mark.parametrize(("config", "shape"), SEPARABLE)
def test_separable_conv2d_is_torch_depthwise_then_pointwise(config, shape, rng):
    torch = pytest.importorskip("torch")
    layer = built("separable_conv2d", config, shape, rng)
    x = rng.standard_normal((3, *shape))
    y = layer.forward(x, training=True)
    upstream = rng.standard_normal(y.shape)
    grad_input = layer.backward(upstream)
    depthwise, _ = layer._bind()
    rows, cols = depthwise._axes(*shape[:2])
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    tensors = {key: torch.tensor(value.transpose(3, 2, 0, 1) if value.ndim == 4 else value,
                                 requires_grad=True) for key, value in layer.params.items()}
    padded = _torch_pad(torch, tx, (cols.pad_before, cols.pad_after, rows.pad_before,
                                    rows.pad_after), layer.padding_mode)
    middle = torch.nn.functional.conv2d(padded, tensors["depthwise_weights"], None,
                                        layer.stride, 0, layer.dilation, shape[2])
    ty = torch.nn.functional.conv2d(middle, tensors["pointwise_weights"], tensors.get("bias"))
    ty.backward(torch.tensor(upstream.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 3, 1), atol=1e-12)
    np.testing.assert_allclose(grad_input, tx.grad.numpy().transpose(0, 2, 3, 1), atol=1e-12)
    for key, value in layer.grads.items():
        expected = tensors[key].grad.numpy()
        expected = expected.transpose(2, 3, 1, 0) if expected.ndim == 4 else expected
        np.testing.assert_allclose(value, expected, atol=1e-12, err_msg=key)


@pytest.mark.parametrize(("name", "shape"), GLOBAL)
def test_global_pooling_matches_torch_adaptive_pooling(name, shape, rng):
    torch = pytest.importorskip("torch")
    layer = built(name, {}, shape, rng)
    x = rng.standard_normal((3, *shape))
    y = layer.forward(x, training=True)
    upstream = rng.standard_normal(y.shape)
    grad_input = layer.backward(upstream)
    channels_first = (0, len(shape), *range(1, len(shape)))
    tx = torch.tensor(x.transpose(channels_first), requires_grad=True)
    kind = "avg" if name == "global_avg_pool" else "max"
    pool = getattr(torch.nn.functional, f"adaptive_{kind}_pool{len(shape) - 1}d")
    ty = pool(tx, 1).flatten(1)
    ty.backward(torch.tensor(upstream))
    np.testing.assert_allclose(y, ty.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(grad_input, tx.grad.numpy().transpose(np.argsort(channels_first)),
                               atol=1e-12)


def test_separable_conv2d_parameters():
    layer = nnframe.layer("separable_conv2d", 5, 3, depth_multiplier=2)
    assert layer.parameter_shapes((6, 6, 3)) == {
        "depthwise_weights": (3, 3, 1, 6), "pointwise_weights": (1, 1, 6, 5), "bias": (5,)}


def test_a_cnn_with_the_new_layers_trains_and_reloads(tmp_path, rng):
    x = rng.standard_normal((64, 12, 3)).astype(np.float32)
    y = (x[:, :, 0].sum(axis=1) > 0).astype(np.int64)
    network = nnframe.Network([
        nnframe.layer("conv1d", 6, 3, padding=1, padding_mode="reflect"),
        nnframe.layer("relu"), nnframe.layer("global_max_pool"),
        nnframe.layer("dense", output_size=2)])
    network.use("cross_entropy", "adam")
    network.fit(x, y, epochs=2, batch_size=16, seed=0, verbose=0)
    loaded = nnframe.load(network.save(str(tmp_path / "model.npz")))
    np.testing.assert_array_equal(loaded.predict(x), network.predict(x))


@pytest.mark.parametrize(("name", "args", "shape", "error", "message"), [
    ("conv1d", (4, 3), (5, 5, 2), nnframe.ShapeError, "batch shaped \\(N, time, C\\)"),
    ("conv1d", (4, 3), (5,), nnframe.ShapeError, "add a channel axis"),
    ("conv1d", (4, 7), (5, 2), nnframe.ShapeError, "conv1d: the 1x7 kernel is larger"),
    ("global_avg_pool", (), (5,), nnframe.ShapeError, "at least two axes"),
])
def test_bad_shapes_say_what_is_expected(name, args, shape, error, message, rng):
    with pytest.raises(error, match=message):
        nnframe.layer(name, *args).build(shape, rng, F64)


def test_conv1d_padding_must_be_one_integer():
    with pytest.raises(nnframe.ConfigError, match="steps padded at each end"):
        nnframe.layer("conv1d", 4, 3, padding=(1, 2))
