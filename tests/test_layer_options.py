"""The layers' options and the new layers: dense without bias, softmax over another axis,
log_softmax, silu, elu, softplus, hard_sigmoid; batch_norm without affine parameters,
without running statistics, with a cumulative average; layer_norm over several axes and
without affine parameters. Float64 finite differences, the kit, configs and model files,
and parity with PyTorch where it is installed."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe
from nnframe.errors import ConfigError, ShapeError
from nnframe.testing import assert_layer_gradients, check_layer

CASES = [
    ("dense", {"output_size": 3, "use_bias": False}, (2, 4)),
    ("softmax", {"axis": 1}, (3, 4)),
    ("softmax", {"axis": -2}, (3, 2, 4)),
    ("log_softmax", {}, (5,)),
    ("log_softmax", {"axis": 2}, (3, 4, 2)),
    ("silu", {}, (3, 4)),
    ("elu", {}, (3, 4)),
    ("elu", {"alpha": 0.3}, (5,)),
    ("softplus", {}, (3, 4)),
    ("softplus", {"beta": 2.0, "threshold": 1.0}, (5,)),
    ("hard_sigmoid", {}, (3, 4)),
    ("batch_norm", {"affine": False}, (2, 2, 3)),
    ("batch_norm", {"track_running_stats": False}, (4,)),
    ("batch_norm", {"momentum": None}, (2, 2, 3)),
    ("batch_norm", {"affine": False, "track_running_stats": False}, (2, 3)),
    ("layer_norm", {"elementwise_affine": False}, (2, 5)),
    ("layer_norm", {"axes": 2}, (3, 2, 4)),
    ("layer_norm", {"axes": 3, "elementwise_affine": False}, (3, 2, 4)),
]


def case_id(case):
    name, config, shape = case
    return f"{name}-{config}-{shape}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_kit_passes(case):
    name, config, shape = case
    check_layer(name, shape, **config)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_gradients_in_float64(case, rng):
    name, config, shape = case
    layer = nnframe.layer(name, **config)
    layer.build(shape, rng, np.dtype("float64"))
    for value in layer.params.values():  # off ones and zeros, which could hide errors
        value[...] = rng.uniform(0.5, 1.5, value.shape)
    x = rng.standard_normal((4, *shape)) * (3 if name in ("elu", "hard_sigmoid",
                                                          "softplus") else 1)
    if name in ("elu", "hard_sigmoid", "softplus"):
        kinks = {"elu": [0.0], "hard_sigmoid": [-3.0, 3.0], "softplus": [0.5]}[name]
        for kink in kinks:
            x[np.abs(x - kink) < 1e-3] += 0.1
    assert_layer_gradients(layer, x, rng)


def test_dense_without_bias_has_no_bias(rng):
    layer = nnframe.layer("dense", 4, 3, use_bias=False)
    layer.build((4,), rng, np.dtype("float64"))
    assert set(layer.params) == {"weights"}
    x = rng.standard_normal((5, 4))
    np.testing.assert_array_equal(layer.forward(x), x @ layer.params["weights"])
    assert layer.get_config()["use_bias"] is False
    assert "use_bias" not in nnframe.layer("dense", 4, 3).get_config()


def test_softmax_over_another_axis_sums_to_one_there(rng):
    x = rng.standard_normal((2, 3, 4)) * 50
    y = nnframe.layer("softmax", axis=1).forward(x)
    np.testing.assert_allclose(y.sum(axis=1), 1.0)
    logs = nnframe.layer("log_softmax", axis=1).forward(x)
    np.testing.assert_allclose(np.exp(logs), y, rtol=1e-12, atol=1e-300)
    assert np.isfinite(nnframe.layer("log_softmax").forward(x * 1e4)).all()


@pytest.mark.parametrize("axis", [0, 3, -4, 1.5, True])
def test_an_axis_outside_the_sample_is_refused(axis):
    with pytest.raises((ConfigError, ShapeError), match="axis"):
        network = nnframe.Network([nnframe.layer("softmax", axis=axis)])
        network.build((3, 4))


@pytest.mark.parametrize(("function", "expected"), [
    ("silu", lambda x: x / (1 + np.exp(-x))),
    ("elu", lambda x: np.where(x > 0, x, np.exp(x) - 1)),
    ("softplus", lambda x: np.where(x > 20, x, np.log1p(np.exp(x)))),
    ("hard_sigmoid", lambda x: np.clip(x / 6 + 0.5, 0, 1))])
def test_activations_follow_their_formulas(function, expected, rng):
    x = rng.standard_normal((6, 5)) * 10
    np.testing.assert_allclose(nnframe.layer(function).forward(x), expected(x), rtol=1e-12)


@pytest.mark.parametrize("name", ["silu", "elu", "softplus", "hard_sigmoid", "log_softmax"])
def test_float32_stays_float32(name, rng):
    layer = nnframe.layer(name)
    layer.build((4,), rng, np.dtype("float32"))
    x = rng.standard_normal((3, 4)).astype(np.float32)
    y = layer.forward(x, training=True)
    assert y.dtype == np.float32 and layer.backward(np.ones_like(y)).dtype == np.float32


def test_batch_norm_without_running_statistics_uses_the_batch_in_inference(rng):
    layer = nnframe.layer("batch_norm", track_running_stats=False)
    layer.build((3,), rng, np.dtype("float64"))
    assert layer.state == {}
    x = rng.standard_normal((6, 3)) * 4 + 2
    np.testing.assert_allclose(layer.forward(x), layer.forward(x, training=True))
    np.testing.assert_allclose(layer.forward(x).mean(axis=0), 0.0, atol=1e-12)


def test_batch_norm_with_momentum_none_keeps_the_cumulative_average(rng):
    layer = nnframe.layer("batch_norm", momentum=None)
    layer.build((3,), rng, np.dtype("float64"))
    batches = [rng.standard_normal((5, 3)) + k for k in range(4)]
    for batch in batches:
        layer.forward(batch, training=True)
    np.testing.assert_allclose(layer.state["running_mean"],
                               np.mean([b.mean(axis=0) for b in batches], axis=0))
    np.testing.assert_allclose(layer.state["running_var"],
                               np.mean([b.var(axis=0, ddof=1) for b in batches], axis=0))
    assert int(layer.state["num_batches_tracked"]) == 4


def test_layer_norm_over_two_axes_normalises_each_sample(rng):
    layer = nnframe.layer("layer_norm", axes=2)
    layer.build((3, 4, 2), rng, np.dtype("float64"))
    assert layer.params["gamma"].shape == (4, 2)
    y = layer.forward(rng.standard_normal((5, 3, 4, 2)) * 3 + 1)
    np.testing.assert_allclose(y.mean(axis=(2, 3)), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(2, 3)), 1.0, rtol=1e-4)
    with pytest.raises(ShapeError, match="last 2 axes"):
        layer.forward(np.zeros((5, 3, 2, 4)))
    with pytest.raises(ShapeError, match="at least 3 axes"):
        nnframe.Network([nnframe.layer("layer_norm", axes=3)]).build((4, 2))


@pytest.mark.parametrize(("name", "config"), [
    ("batch_norm", {"affine": "no"}), ("batch_norm", {"momentum": 1.5}),
    ("layer_norm", {"axes": 0}), ("dense", {"output_size": 2, "use_bias": 0}),
    ("elu", {"alpha": -1.0}), ("softplus", {"beta": 0.0})])
def test_bad_options_are_refused(name, config):
    with pytest.raises(ConfigError):
        nnframe.layer(name, **config)


def test_configs_keep_their_old_form():
    assert nnframe.layer("batch_norm").get_config() == {"momentum": 0.1, "eps": 1e-5}
    assert nnframe.layer("layer_norm").get_config() == {"eps": 1e-5}
    assert nnframe.layer("softmax").get_config() == {}
    assert nnframe.layer("batch_norm", momentum=None, affine=False).get_config() == {
        "momentum": None, "eps": 1e-5, "affine": False}


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in ("batch_norm", "layer_norm",
                                                                "dense")], ids=case_id)
def test_model_files_keep_the_options(case, tmp_path, rng):
    name, config, shape = case
    network = nnframe.Network([nnframe.layer(name, **config), nnframe.layer("flatten"),
                               nnframe.layer("dense", output_size=2)])
    x = rng.standard_normal((16, *shape)).astype(np.float32)
    network.use("mse", "adam").fit(x, rng.standard_normal((16, 2)), epochs=2, batch_size=4,
                                   verbose=0, seed=0)
    network.save(tmp_path / "model.npz")
    loaded = nnframe.load(tmp_path / "model.npz")
    assert loaded.layers[0].get_config() == network.layers[0].get_config()
    np.testing.assert_array_equal(loaded.predict(x), network.predict(x))


# -- parity with PyTorch -----------------------------------------------------------------


@pytest.fixture
def torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed (an optional "
                                               "cross-check)")


def run_both(torch, layer, module, x, channels_last_to=None):
    """(nnframe output, torch output, nnframe dE/dx, torch dE/dx) for a training pass
    with a random upstream gradient; ``channels_last_to`` moves the last axis there for
    torch."""
    rng = np.random.default_rng(5)
    upstream = rng.standard_normal((*x.shape[:-1], layer.output_shape(x.shape[1:])[-1]))
    y = layer.forward(x, training=True)
    grad = layer.backward(upstream)
    moved = x if channels_last_to is None else np.moveaxis(x, -1, channels_last_to)
    tensor = torch.tensor(moved, requires_grad=True)
    out = module(tensor)
    expected_up = upstream if channels_last_to is None else np.moveaxis(upstream, -1,
                                                                        channels_last_to)
    out.backward(torch.tensor(expected_up))
    t_out, t_grad = out.detach().numpy(), tensor.grad.numpy()
    if channels_last_to is not None:
        t_out, t_grad = np.moveaxis(t_out, channels_last_to, -1), np.moveaxis(
            t_grad, channels_last_to, -1)
    return y, t_out, grad, t_grad


@pytest.mark.parametrize(("name", "config", "module"), [
    ("silu", {}, lambda nn: nn.SiLU()),
    ("elu", {"alpha": 0.7}, lambda nn: nn.ELU(alpha=0.7)),
    ("softplus", {"beta": 2.0, "threshold": 3.0}, lambda nn: nn.Softplus(2.0, 3.0)),
    ("hard_sigmoid", {}, lambda nn: nn.Hardsigmoid()),
    ("log_softmax", {}, lambda nn: nn.LogSoftmax(dim=-1)),
    ("log_softmax", {"axis": 1}, lambda nn: nn.LogSoftmax(dim=1)),
    ("softmax", {"axis": 1}, lambda nn: nn.Softmax(dim=1))])
def test_activations_match_pytorch(name, config, module, torch, rng):
    layer = nnframe.layer(name, **config)
    layer.build((3, 4), rng, np.dtype("float64"))
    x = rng.standard_normal((5, 3, 4)) * 4
    y, t_y, grad, t_grad = run_both(torch, layer, module(torch.nn), x)
    np.testing.assert_allclose(y, t_y, rtol=1e-12, atol=1e-14)
    # torch's hardsigmoid backward multiplies by 1/6 rounded to float32
    rtol = 1e-7 if name == "hard_sigmoid" else 1e-12
    np.testing.assert_allclose(grad, t_grad, rtol=rtol, atol=1e-14)


def test_dense_without_bias_matches_pytorch(torch, rng):
    layer = nnframe.layer("dense", 4, 3, use_bias=False)
    layer.build((4,), rng, np.dtype("float64"))
    module = torch.nn.Linear(4, 3, bias=False, dtype=torch.float64)
    with torch.no_grad():
        module.weight.copy_(torch.tensor(layer.params["weights"].T))
    x = rng.standard_normal((6, 4))
    y, t_y, grad, t_grad = run_both(torch, layer, module, x)
    np.testing.assert_allclose(y, t_y, rtol=1e-12)
    np.testing.assert_allclose(grad, t_grad, rtol=1e-12)
    np.testing.assert_allclose(layer.grads["weights"], module.weight.grad.numpy().T,
                               rtol=1e-12)


@pytest.mark.parametrize("config", [{"affine": False}, {"track_running_stats": False},
                                    {"momentum": None}])
@pytest.mark.parametrize("images", [False, True])
def test_batch_norm_options_match_pytorch(config, images, torch, rng):
    shape = (3, 3, 4) if images else (4,)
    layer = nnframe.layer("batch_norm", eps=1e-4, **config)
    layer.build(shape, rng, np.dtype("float64"))
    module = (torch.nn.BatchNorm2d if images else torch.nn.BatchNorm1d)(
        4, eps=1e-4, dtype=torch.float64, **config)
    for step in range(3):
        x = rng.standard_normal((6, *shape)) * 2 + step
        y, t_y, grad, t_grad = run_both(torch, layer, module, x, 1 if images else None)
        np.testing.assert_allclose(y, t_y, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(grad, t_grad, rtol=1e-10, atol=1e-12)
    if layer.state:
        np.testing.assert_allclose(layer.state["running_mean"], module.running_mean.numpy())
        np.testing.assert_allclose(layer.state["running_var"], module.running_var.numpy())
    module.eval()
    x = rng.standard_normal((5, *shape))
    moved = np.moveaxis(x, -1, 1) if images else x
    expected = module(torch.tensor(moved)).detach().numpy()
    expected = np.moveaxis(expected, 1, -1) if images else expected
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("config", [{"axes": 2}, {"elementwise_affine": False},
                                    {"axes": 2, "elementwise_affine": False}])
def test_layer_norm_options_match_pytorch(config, torch, rng):
    layer = nnframe.layer("layer_norm", eps=1e-4, **config)
    layer.build((3, 4), rng, np.dtype("float64"))
    shape = (3, 4) if config.get("axes") == 2 else (4,)
    module = torch.nn.LayerNorm(shape, eps=1e-4, dtype=torch.float64,
                                elementwise_affine=config.get("elementwise_affine", True))
    if layer.params:
        layer.params["gamma"][...] = rng.uniform(0.5, 1.5, shape)
        layer.params["beta"][...] = rng.standard_normal(shape)
        with torch.no_grad():
            module.weight.copy_(torch.tensor(layer.params["gamma"]))
            module.bias.copy_(torch.tensor(layer.params["beta"]))
    x = rng.standard_normal((5, 3, 4)) * 3
    y, t_y, grad, t_grad = run_both(torch, layer, module, x)
    np.testing.assert_allclose(y, t_y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad, t_grad, rtol=1e-10, atol=1e-12)
    if layer.params:
        np.testing.assert_allclose(layer.grads["gamma"], module.weight.grad.numpy(),
                                   rtol=1e-10)
