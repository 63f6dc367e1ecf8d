"""batch_norm and layer_norm: gradients through the statistics, PyTorch's formulas (as a
float64 NumPy reference, and PyTorch itself when it is installed), running statistics,
inference, model files and errors."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

import nnframe
from nnframe.cli import app
from nnframe.errors import ConfigError, ShapeError
from nnframe.testing import assert_layer_gradients

#: float64 against the float64 reference: the same formulas, summed in another order.
SAME_FORMULA = 1e-12


def built(name, input_shape, seed=0, dtype="float64", perturb=True, **config):
    """A built layer whose gamma and beta are moved off ones and zeros (which could hide
    a wrong gradient)."""
    layer = nnframe.layer(name, **config)
    rng = np.random.default_rng(seed)
    layer.build(input_shape, rng, np.dtype(dtype))
    if perturb:
        layer.params["gamma"][...] = rng.uniform(0.5, 1.5, input_shape[-1])
        layer.params["beta"][...] = rng.standard_normal(input_shape[-1])
    return layer


def reference_batch_norm(x, gamma, beta, running_mean, running_var, momentum=0.1,
                         eps=1e-5):
    """PyTorch's batch norm in training, in float64: (y, new running mean and var)."""
    axes = tuple(range(x.ndim - 1))
    count = x.size // x.shape[-1]
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    y = (x - mean) / np.sqrt(var + eps) * gamma + beta
    new_mean = (1 - momentum) * running_mean + momentum * mean
    new_var = (1 - momentum) * running_var + momentum * var * count / (count - 1)
    return y, new_mean, new_var


def reference_batch_norm_inference(x, gamma, beta, running_mean, running_var, eps=1e-5):
    return (x - running_mean) / np.sqrt(running_var + eps) * gamma + beta


def reference_layer_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


# -- gradients -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "shape"), [
    ("batch_norm", (5, 4)),          # dense features
    ("batch_norm", (3, 4, 5, 3)),    # channels-last images: statistics over N, H and W
    ("batch_norm", (4, 3, 2)),       # sequences (N, T, F)
    ("layer_norm", (5, 6)),
    ("layer_norm", (3, 4, 5)),       # one statistic per (sample, position)
    ("layer_norm", (2, 3, 3, 4)),
])
def test_gradients_against_finite_differences(name, shape):
    layer = built(name, shape[1:], seed=1)
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape) * 2 + rng.standard_normal(shape[-1])
    upstream = rng.standard_normal(shape)
    ratios = assert_layer_gradients(layer, x, upstream)
    assert set(ratios) == {"input", "gamma", "beta"}


def test_batch_norm_backward_goes_through_the_batch_statistics():
    """A dE/dY that is the same for every value of a feature is absorbed by the batch mean
    (dE/dX = 0), which a backward that treats the statistics as constants gets wrong."""
    layer = built("batch_norm", (4, 4, 3))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 4, 3))
    layer.forward(x, training=True)
    constant = np.broadcast_to(rng.standard_normal(3), x.shape).copy()
    grad = layer.backward(constant)
    np.testing.assert_allclose(grad, 0.0, atol=1e-12)
    np.testing.assert_allclose(layer.grads["beta"], constant[0, 0, 0] * 32)
    np.testing.assert_allclose(layer.grads["gamma"], 0.0, atol=1e-12)
    # dE/dY along x̂ is absorbed by the batch variance, all but its share of eps
    var = x.var(axis=(0, 1, 2))
    xhat = (x - x.mean(axis=(0, 1, 2))) / np.sqrt(var + 1e-5)
    left = 2.0 * layer.params["gamma"] * xhat * 1e-5 / (var + 1e-5) ** 1.5
    np.testing.assert_allclose(layer.backward(xhat * 2.0), left, rtol=1e-9, atol=1e-15)


def test_layer_norm_backward_goes_through_each_rows_statistics():
    layer = built("layer_norm", (3, 5))
    x = np.random.default_rng(0).standard_normal((2, 3, 5))
    layer.forward(x, training=True)
    per_row = np.random.default_rng(1).standard_normal((2, 3, 1)) / layer.params["gamma"]
    np.testing.assert_allclose(layer.backward(np.broadcast_to(per_row, x.shape)), 0.0,
                               atol=1e-12)


def test_backward_parameters_fills_the_same_grads_without_dx():
    for name in ("batch_norm", "layer_norm"):
        layer = built(name, (3, 4))
        x = np.random.default_rng(0).standard_normal((5, 3, 4))
        g = np.random.default_rng(1).standard_normal(x.shape)
        layer.forward(x, training=True)
        layer.backward(g)
        expected = {k: v.copy() for k, v in layer.grads.items()}
        for value in layer.grads.values():
            value[...] = 0
        layer.backward_parameters(g)
        for key, value in expected.items():
            np.testing.assert_array_equal(layer.grads[key], value)


# -- PyTorch's semantics, as a float64 reference --------------------------------------------


@pytest.mark.parametrize("shape", [(8, 5), (4, 3, 3, 2)])
@pytest.mark.parametrize(("momentum", "eps"), [(0.1, 1e-5), (0.3, 1e-3), (1.0, 1e-5)])
def test_batch_norm_follows_pytorchs_running_statistics(shape, momentum, eps):
    layer = built("batch_norm", shape[1:], momentum=momentum, eps=eps)
    gamma, beta = layer.params["gamma"].copy(), layer.params["beta"].copy()
    running_mean, running_var = np.zeros(shape[-1]), np.ones(shape[-1])
    rng = np.random.default_rng(5)
    for step in range(4):
        x = rng.standard_normal(shape) * (step + 1) + step
        y, running_mean, running_var = reference_batch_norm(
            x, gamma, beta, running_mean, running_var, momentum, eps)
        np.testing.assert_allclose(layer.forward(x, training=True), y, rtol=SAME_FORMULA,
                                   atol=SAME_FORMULA)
        np.testing.assert_allclose(layer.state["running_mean"], running_mean,
                                   rtol=SAME_FORMULA, atol=SAME_FORMULA)
        np.testing.assert_allclose(layer.state["running_var"], running_var,
                                   rtol=SAME_FORMULA)
    x = rng.standard_normal(shape) * 3 + 1
    expected = reference_batch_norm_inference(x, gamma, beta, running_mean, running_var, eps)
    np.testing.assert_allclose(layer.forward(x, training=False), expected, rtol=SAME_FORMULA,
                               atol=SAME_FORMULA)


def test_batch_norm_starts_as_pytorch_does():
    layer = nnframe.layer("batch_norm")
    layer.build((6,), np.random.default_rng(0), np.dtype("float32"))
    assert layer.get_config() == {"momentum": 0.1, "eps": 1e-5}
    expected = {"gamma": 1.0, "beta": 0.0}
    for key, value in expected.items():
        assert layer.params[key].dtype == np.float32
        np.testing.assert_array_equal(layer.params[key], np.full(6, value, np.float32))
    np.testing.assert_array_equal(layer.state["running_mean"], np.zeros(6, np.float32))
    np.testing.assert_array_equal(layer.state["running_var"], np.ones(6, np.float32))
    assert {v.dtype for v in layer.state.values()} == {np.dtype(np.float32)}


def test_batch_norm_inference_uses_the_running_statistics_and_changes_nothing():
    layer = built("batch_norm", (4,))
    rng = np.random.default_rng(3)
    for _ in range(3):
        layer.forward(rng.standard_normal((16, 4)) * 2 + 5, training=True)
    state = {k: v.copy() for k, v in layer.state.items()}
    x = rng.standard_normal((6, 4)) * 2 + 5
    inferred = layer.forward(x, training=False)
    for key, value in state.items():
        np.testing.assert_array_equal(layer.state[key], value)
    expected = reference_batch_norm_inference(x, layer.params["gamma"], layer.params["beta"],
                                              state["running_mean"], state["running_var"])
    np.testing.assert_allclose(inferred, expected, rtol=SAME_FORMULA)
    # one sample is enough at inference, and each sample's output is its own
    np.testing.assert_array_equal(layer.forward(x[:1], training=False), inferred[:1])
    # the batch's own statistics would give something else
    assert not np.allclose(inferred, layer.forward(x, training=True))


def test_layer_norm_follows_pytorchs_formula_in_training_and_inference():
    layer = built("layer_norm", (3, 7), eps=1e-3)
    x = np.random.default_rng(0).standard_normal((4, 3, 7)) * 5 + 2
    expected = reference_layer_norm(x, layer.params["gamma"], layer.params["beta"], 1e-3)
    for training in (True, False):
        np.testing.assert_allclose(layer.forward(x, training=training), expected,
                                   rtol=SAME_FORMULA, atol=SAME_FORMULA)
    assert layer.state == {}


@pytest.mark.parametrize("name", ["batch_norm", "layer_norm"])
def test_float32_stays_float32_and_close_to_float64(name):
    x = (np.random.default_rng(0).standard_normal((64, 5, 5, 8)) * 3 + 10)
    single = built(name, (5, 5, 8), dtype="float32")
    double = built(name, (5, 5, 8), dtype="float64")
    double.params["gamma"][...] = single.params["gamma"]
    double.params["beta"][...] = single.params["beta"]
    upstream = np.random.default_rng(1).standard_normal(x.shape)
    y32 = single.forward(x.astype(np.float32), training=True)
    g32 = single.backward(upstream.astype(np.float32))
    y64 = double.forward(x, training=True)
    g64 = double.backward(upstream)
    arrays = [y32, g32, *single.grads.values(), *single.state.values(),
              single.forward(x.astype(np.float32), training=False)]
    assert {a.dtype for a in arrays} == {np.dtype(np.float32)}
    np.testing.assert_allclose(y32, y64, atol=2e-5)
    np.testing.assert_allclose(g32, g64, atol=1e-4)
    for key in single.grads:
        np.testing.assert_allclose(single.grads[key], double.grads[key], rtol=1e-4)
    for key in single.state:
        np.testing.assert_allclose(single.state[key], double.state[key], rtol=1e-5)


@pytest.mark.parametrize("name", ["batch_norm", "layer_norm"])
def test_strided_inputs_and_gradients_give_what_contiguous_ones_give(name):
    """Every other sample of a bigger batch (rows that reshape to no contiguous view)."""
    big = np.random.default_rng(0).standard_normal((16, 3, 8)).astype(np.float32)
    upstream = np.random.default_rng(1).standard_normal((16, 3, 8)).astype(np.float32)
    strided, contiguous = built(name, (3, 8), dtype="float32"), built(name, (3, 8),
                                                                        dtype="float32")
    np.testing.assert_array_equal(strided.forward(big[::2], training=True),
                                  contiguous.forward(big[::2].copy(), training=True))
    np.testing.assert_array_equal(strided.backward(upstream[::2]),
                                  contiguous.backward(upstream[::2].copy()))
    for key, value in contiguous.grads.items():
        np.testing.assert_array_equal(strided.grads[key], value)
    np.testing.assert_array_equal(strided.forward(big[::2]), contiguous.forward(big[::2].copy()))


def test_inputs_far_from_zero_are_normalised_exactly_in_float32():
    """Values around 1e4 with a spread of 1: the mean is taken out before squaring, at
    inference too, so float32 keeps four good digits."""
    rng = np.random.default_rng(0)
    x = (1e4 + rng.standard_normal((256, 3))).astype(np.float32)
    layer = built("batch_norm", (3,), dtype="float32", perturb=False, momentum=1.0)
    y = layer.forward(x, training=True)
    expected = reference_batch_norm(x.astype(np.float64), 1.0, 0.0, 0.0, 1.0)[0]
    np.testing.assert_allclose(y, expected, atol=1e-3)
    expected = reference_batch_norm_inference(
        x.astype(np.float64), 1.0, 0.0, layer.state["running_mean"].astype(np.float64),
        layer.state["running_var"].astype(np.float64))
    np.testing.assert_allclose(layer.forward(x, training=False), expected, atol=1e-3)


# -- PyTorch itself, when it is installed ---------------------------------------------------


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed (an optional "
                               "cross-check, never a test dependency)")


@pytest.mark.parametrize("images", [False, True], ids=["BatchNorm1d", "BatchNorm2d"])
def test_batch_norm_matches_pytorch(images):
    torch = _torch()
    shape = (6, 5, 4, 3) if images else (10, 4)
    features = shape[-1]
    ours = built("batch_norm", shape[1:], momentum=0.2, eps=1e-4)
    module = (torch.nn.BatchNorm2d if images else torch.nn.BatchNorm1d)(
        features, momentum=0.2, eps=1e-4, dtype=torch.float64)
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(ours.params["gamma"]))
        module.bias.copy_(torch.from_numpy(ours.params["beta"]))

    def to_torch(a):  # channels-last to PyTorch's channels-first
        return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2) if images else a))

    def from_torch(t):
        a = t.detach().numpy()
        return a.transpose(0, 2, 3, 1) if images else a

    rng = np.random.default_rng(7)
    module.train()
    for step in range(3):
        x = rng.standard_normal(shape) * 2 + step
        upstream = rng.standard_normal(shape)
        xt = to_torch(x).requires_grad_(True)
        module.zero_grad()
        yt = module(xt)
        yt.backward(to_torch(upstream))
        np.testing.assert_allclose(ours.forward(x, training=True), from_torch(yt), atol=1e-12)
        np.testing.assert_allclose(ours.backward(upstream), from_torch(xt.grad), atol=1e-12)
        np.testing.assert_allclose(ours.grads["gamma"], module.weight.grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(ours.grads["beta"], module.bias.grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(ours.state["running_mean"], module.running_mean.numpy(),
                                   atol=1e-12)
        np.testing.assert_allclose(ours.state["running_var"], module.running_var.numpy(),
                                   atol=1e-12)
    module.eval()
    x = rng.standard_normal(shape)
    with torch.no_grad():
        expected = from_torch(module(to_torch(x)))
    np.testing.assert_allclose(ours.forward(x, training=False), expected, atol=1e-12)


def test_layer_norm_matches_pytorch():
    torch = _torch()
    ours = built("layer_norm", (5, 6), eps=1e-4)
    module = torch.nn.LayerNorm(6, eps=1e-4, dtype=torch.float64)
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(ours.params["gamma"]))
        module.bias.copy_(torch.from_numpy(ours.params["beta"]))
    rng = np.random.default_rng(8)
    x, upstream = rng.standard_normal((4, 5, 6)) * 3, rng.standard_normal((4, 5, 6))
    xt = torch.from_numpy(x).requires_grad_(True)
    yt = module(xt)
    yt.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(ours.forward(x, training=True), yt.detach().numpy(),
                               atol=1e-12)
    np.testing.assert_allclose(ours.backward(upstream), xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.grads["gamma"], module.weight.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.grads["beta"], module.bias.grad.numpy(), atol=1e-12)


# -- in a network ---------------------------------------------------------------------------


def data(samples=96, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((samples, 6)) * 4 + 3).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 6).astype(np.int64)


def network():
    return nnframe.Network([
        nnframe.layer("dense", 6, 8), nnframe.layer("batch_norm"), nnframe.layer("relu"),
        nnframe.layer("dense", 8, 8), nnframe.layer("layer_norm"), nnframe.layer("relu"),
        nnframe.layer("dense", 8, 2),
    ]).use("cross_entropy", "adam")


class StopAt(nnframe.Callback):
    """Stops training after a given batch of the first epoch, as Ctrl-C does."""

    def __init__(self, batch):
        self.batch = batch

    def on_batch_end(self, batch, logs):
        if batch == self.batch:
            self.network.stop_training = True


def test_a_network_saved_mid_training_predicts_bit_identically_and_resumes_exactly(tmp_path):
    x, y = data()
    fit = {"batch_size": 16, "verbose": 0}
    whole = network()
    whole.fit(x, y, epochs=2, seed=4, **fit)

    stopped = network()
    stopped.fit(x, y, epochs=2, seed=4, callbacks=[StopAt(2)], **fit)
    assert stopped.resume_point["batch"] == 3
    moved = stopped.layers[1].state["running_mean"]
    assert np.all(moved != 0)
    loaded = nnframe.load(stopped.save(tmp_path / "mid.npz"))
    for key, value in stopped.state().items():
        np.testing.assert_array_equal(loaded.state()[key], value, err_msg=key)
        assert loaded.state()[key].dtype == np.float32
    np.testing.assert_array_equal(loaded.predict(x), stopped.predict(x))

    loaded.fit(x, y, epochs=2, initial_epoch=loaded.epoch, **fit)
    np.testing.assert_array_equal(loaded.predict(x), whole.predict(x))
    for key, value in whole.state().items():
        np.testing.assert_array_equal(loaded.state()[key], value, err_msg=key)


def test_model_file_holds_parameters_and_running_statistics(tmp_path):
    x, y = data()
    net = network()
    net.fit(x, y, epochs=1, batch_size=32, seed=0, verbose=0)
    with np.load(net.save(tmp_path / "m.npz"), allow_pickle=False) as archive:
        names = set(archive.files)
        assert {"params/1.gamma.npy", "params/1.beta.npy", "state/1.running_mean.npy",
                "state/1.running_var.npy", "params/4.gamma.npy", "params/4.beta.npy"} <= \
            {name if name.endswith(".npy") else f"{name}.npy" for name in names}
        assert not any(name.startswith("state/4.") for name in names)
    assert not any("running" in key for key in net.optimizer.state_dict())


def test_summary_counts_running_statistics_as_non_trainable():
    net = network().build((6,), seed=0)
    lines = []
    net.summary(print_fn=lines.append)
    trainable = (6 * 8 + 8) + 2 * 8 + (8 * 8 + 8) + 2 * 8 + (8 * 2 + 2)
    assert f"Trainable params: {trainable:,}" in lines
    assert "Non-trainable params: 16" in lines
    assert any("batch_norm" in line and "16 (+16)" in line for line in lines)
    assert any("layer_norm" in line and line.rstrip().endswith(" 16") for line in lines)


def test_a_network_with_batch_norm_learns_in_float32():
    x, y = data(256)
    net = network().use("cross_entropy", nnframe.optimizer("adam", learning_rate=0.01))
    history = net.fit(x, y, epochs=15, batch_size=32, seed=0, verbose=0)
    assert history["loss"][-1] < 0.25 * history["loss"][0]
    assert net.evaluate(x, y)["accuracy"] > 0.95
    assert {p.value.dtype for p in net.parameters()} == {np.dtype(np.float32)}


def test_batch_norm_on_images_after_a_convolution():
    pytest.importorskip("nnframe_conv")
    rng = np.random.default_rng(0)
    x = rng.random((32, 8, 8, 1)).astype(np.float32)
    y = (x[:, :4].mean(axis=(1, 2, 3)) > x[:, 4:].mean(axis=(1, 2, 3))).astype(np.int64)
    net = nnframe.Network([
        nnframe.layer("conv2d", filters=4, kernel_size=3), nnframe.layer("batch_norm"),
        nnframe.layer("relu"), nnframe.layer("flatten"), nnframe.layer("dense", output_size=2),
    ]).use("cross_entropy", "adam")
    net.fit(x, y, epochs=2, batch_size=8, seed=0, verbose=0)
    assert net.layers[1].state["running_mean"].shape == (4,)
    assert np.all(net.layers[1].state["running_var"] != 1.0)


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["batch_norm", "layer_norm"])
def test_wrong_features_and_scalar_samples_are_shape_errors(name):
    layer = built(name, (4,))
    with pytest.raises(ShapeError, match=f"{name} was built for 4 features on the last axis, "
                       "got 3"):
        layer.forward(np.zeros((2, 3)))
    with pytest.raises(ShapeError, match="at least one axis"):
        layer.forward(np.zeros(5), training=True)
    net = nnframe.Network([nnframe.layer("dense", 3, 4), nnframe.layer(name)])
    with pytest.raises(ShapeError, match=r"layer 0 \(dense\): expected input of size 3"):
        net.build((5,))
    with pytest.raises(ShapeError, match=r"layer 0 \(" + name + r"\): .*at least one axis"):
        nnframe.Network([nnframe.layer(name)]).build(())


def test_batch_norm_takes_a_last_batch_of_one_sample():
    layer = built("batch_norm", (4,))
    layer.params["beta"][...] = [1.0, 2.0, 3.0, 4.0]
    layer.state["running_var"][...] = 2.0
    x = np.array([[5.0, -1.0, 0.5, 3.0]])
    y = layer.forward(x, training=True)
    np.testing.assert_array_equal(y, [[1.0, 2.0, 3.0, 4.0]])  # x - mean is 0: beta
    np.testing.assert_allclose(layer.state["running_mean"], 0.1 * x[0])
    np.testing.assert_array_equal(layer.state["running_var"], 2.0)  # no variance to give
    np.testing.assert_array_equal(layer.backward(np.ones((1, 4))), 0.0)


def test_training_whose_last_batch_has_one_sample_runs():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((9, 3)), rng.integers(0, 2, 9)
    net = nnframe.Network([nnframe.layer("dense", 3, 4), nnframe.layer("batch_norm"),
                           nnframe.layer("dense", 4, 2)]).use("cross_entropy", "sgd")
    net.fit(x, y, epochs=2, batch_size=4, verbose=0)  # batches of 4, 4 and 1
    assert np.isfinite(net.state()["1.running_var"]).all()


@pytest.mark.parametrize(("name", "config", "message"), [
    ("batch_norm", {"momentum": 1.5}, "momentum must be a number in \\[0, 1\\]"),
    ("batch_norm", {"momentum": -0.1}, "momentum must be a number in \\[0, 1\\]"),
    ("batch_norm", {"eps": 0}, "eps must be a number > 0"),
    ("layer_norm", {"eps": -1e-5}, "eps must be a number > 0"),
    ("layer_norm", {"eps": "small"}, "eps must be a number > 0"),
])
def test_bad_arguments_are_config_errors(name, config, message):
    with pytest.raises(ConfigError, match=message):
        nnframe.layer(name, **config)


def test_nnframe_check_passes_for_the_three_layers():
    result = CliRunner().invoke(app, ["check", "batch_norm", "layer_norm", "embedding"])
    assert result.exit_code == 0, result.stdout
    assert "6 components checked: 6 passed, 0 failed" in result.stdout
    assert "parameter_shapes" in result.stdout and "FAIL" not in result.stdout
