"""rnn, lstm and gru as layers: shapes, keys, initialisation, dtypes, configs and the errors
for input that is not a batch of sequences."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import nnframe

nnframe_recurrent = pytest.importorskip(
    "nnframe_recurrent", reason="nnframe-recurrent is not installed: "
    "`pip install ./plugins/nnframe-recurrent` or run `nox -s tests`")

F32 = np.dtype("float32")
LAYERS = ["rnn", "lstm", "gru"]
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def built(name, units, input_shape, rng, dtype=F32, **kwargs):
    layer = nnframe.layer(name, units, **kwargs)
    layer.build(input_shape, rng, dtype)
    return layer


@pytest.mark.parametrize("name", LAYERS)
def test_parameters_have_the_documented_keys_and_shapes(name, rng):
    layer = built(name, 6, (10, 4), rng)
    width = GATES[name] * 6
    expected = {"input_weights": (4, width), "recurrent_weights": (6, width)}
    if name == "gru":
        expected |= {"input_bias": (width,), "recurrent_bias": (width,)}
    else:
        expected |= {"bias": (width,)}
    assert {key: value.shape for key, value in layer.params.items()} == expected
    assert {key: value.shape for key, value in layer.grads.items()} == expected
    assert layer.features == 4


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize(("return_sequences", "expected"), [(False, (7,)), (True, (9, 7))])
def test_output_shapes(name, return_sequences, expected, rng):
    layer = built(name, 7, (9, 3), rng, return_sequences=return_sequences)
    assert layer.output_shape((9, 3)) == expected
    x = rng.random((5, 9, 3), dtype=np.float32)
    assert layer.forward(x).shape == (5, *expected)
    assert layer.forward(x, training=True).shape == (5, *expected)
    # the weights do not depend on the length, so other lengths work too
    assert layer.forward(x[:, :4]).shape[0] == 5


@pytest.mark.parametrize("name", LAYERS)
def test_initialisation_is_pytorchs_uniform_range(name):
    """Every weight from U(-k, k), k = 1/sqrt(units); rnn's and lstm's one bias is the sum of
    PyTorch's two, so it lies in (-2k, 2k) with a triangular distribution."""
    layer = built(name, 64, (5, 32), np.random.default_rng(0))
    bound = 1 / math.sqrt(64)
    for key, value in layer.params.items():
        limit = 2 * bound if key == "bias" else bound
        assert np.abs(value).max() <= limit, key
        assert np.abs(value).max() > 0.9 * limit, key  # the whole range is used
        # centred: the mean within four standard errors of zero
        assert abs(float(value.mean())) < 4 * bound / math.sqrt(3 * value.size / 2), key
    if name != "gru":  # the sum of two uniforms: variance 2 k^2 / 3
        assert np.var(layer.params["bias"]) == pytest.approx(2 * bound**2 / 3, rel=0.2)


@pytest.mark.parametrize("name", LAYERS)
def test_the_same_generator_state_builds_the_same_weights(name):
    first = built(name, 5, (4, 3), np.random.default_rng(7))
    second = built(name, 5, (4, 3), np.random.default_rng(7))
    for key, value in first.params.items():
        np.testing.assert_array_equal(value, second.params[key])


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("name", LAYERS)
def test_float32_stays_float32(name, return_sequences, rng):
    layer = built(name, 4, (5, 3), rng, return_sequences=return_sequences)
    assert {value.dtype for value in layer.params.values()} == {F32}
    x = rng.standard_normal((3, 5, 3)).astype(np.float32)
    y = layer.forward(x, training=True)
    grad_input = layer.backward(np.ones_like(y))
    assert y.dtype == F32 and grad_input.dtype == F32
    assert layer.forward(x).dtype == F32
    assert {grad.dtype for grad in layer.grads.values()} == {F32}


@pytest.mark.parametrize("name", LAYERS)
def test_float64_input_to_a_float32_layer_is_computed_in_float32(name, rng):
    layer = built(name, 4, (5, 3), rng)
    assert layer.forward(rng.standard_normal((2, 5, 3))).dtype == F32


@pytest.mark.parametrize("name", LAYERS)
def test_outputs_are_fresh_arrays(name, rng):
    """States live in buffers reused from batch to batch; what forward returns does not."""
    layer = built(name, 4, (5, 3), rng, return_sequences=True)
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    first = layer.forward(x, training=True)
    kept = first.copy()
    layer.forward(-x, training=True)
    np.testing.assert_array_equal(first, kept)


@pytest.mark.parametrize("name", LAYERS)
def test_config_round_trips_through_json_and_the_registry(name):
    layer = nnframe.layer(name, 16, return_sequences=True)
    config = layer.get_config()
    defaults = {"use_bias": True, "bidirectional": False, "initial_state": "zeros",
                **({"nonlinearity": "tanh"} if name == "rnn" else {})}
    assert config == {"units": 16, "return_sequences": True, **defaults}
    assert json.loads(json.dumps(config)) == config
    assert nnframe.layer(name, **config).get_config() == config
    assert nnframe.layer(name, np.int64(3)).get_config() == {
        "units": 3, "return_sequences": False, **defaults}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"units": 0}, "units must be a positive integer, got 0"),
    ({"units": 2.5}, "units must be a positive integer, got 2.5"),
    ({"units": True}, "units must be a positive integer, got True"),
    ({"units": 4, "return_sequences": "yes"}, "return_sequences must be true or false, got "
                                              "'yes'"),
])
@pytest.mark.parametrize("name", LAYERS)
def test_bad_arguments_are_refused_when_the_layer_is_made(name, kwargs, message):
    with pytest.raises(nnframe.ConfigError, match=message):
        nnframe.layer(name, **kwargs)


# -- input that is not a batch of sequences ----------------------------------------------


@pytest.mark.parametrize("name", LAYERS)
def test_flat_samples_are_refused_with_the_expected_shape(name):
    with pytest.raises(nnframe.ShapeError) as info:
        nnframe.layer(name, 8).output_shape((784,))
    assert str(info.value) == (
        f"{name} expects sequences, a batch shaped (N, time, features), so samples of shape "
        "(time, features); got samples of shape (784,); to read 28x28 images row by row, "
        "reshape to (N, 28, 28), e.g. x.reshape(len(x), 28, 28)")


def test_images_are_refused_with_the_reshape_to_rows():
    with pytest.raises(nnframe.ShapeError) as info:
        nnframe.layer("lstm", 8).build((28, 28, 1), np.random.default_rng(0), F32)
    assert str(info.value).endswith(
        "got samples of shape (28, 28, 1); to read images row by row, make each row a time "
        "step: reshape to (N, 28, 28), e.g. x.reshape(len(x), 28, 28) (in a config: [data] "
        "reshape = [28, 28])")


def test_one_value_per_step_needs_a_feature_axis():
    with pytest.raises(nnframe.ShapeError, match=r"samples of shape \(10,\); for one value "
                                                 r"per time step add a feature axis"):
        nnframe.layer("gru", 8).output_shape((10,))


@pytest.mark.parametrize(("shape", "hint"), [
    ((4, 6), r"got an array of shape \(4, 6\); for a single sequence add the batch axis, "
             r"x\[None\]; for one value per time step add a feature axis, x\[\.\.\., None\]"),
    ((4, 6, 6, 1), r"got an array of shape \(4, 6, 6, 1\); to read images row by row, "
                   r"reshape to \(N, 6, 6\)"),
    ((6,), r"got an array of shape \(6,\)$"),
])
def test_forward_refuses_a_batch_of_the_wrong_rank(shape, hint, rng):
    layer = built("lstm", 3, (6, 6), rng)
    with pytest.raises(nnframe.ShapeError, match=r"^lstm expects sequences, a batch shaped "
                                                 r"\(N, time, features\); " + hint):
        layer.forward(np.zeros(shape, np.float32))


def test_a_different_number_of_features_after_build_is_refused(rng):
    layer = built("rnn", 3, (5, 4), rng)
    with pytest.raises(nnframe.ShapeError, match="rnn was built for 4 features per time "
                                                 "step, got 2"):
        layer.forward(np.zeros((2, 5, 2), np.float32))
    with pytest.raises(nnframe.ShapeError, match="rnn was built for 4 features"):
        layer.output_shape((5, 2))


def test_empty_sequences_are_refused(rng):
    with pytest.raises(nnframe.ShapeError, match="at least one time step"):
        nnframe.layer("gru", 3).output_shape((0, 4))
    layer = built("gru", 3, (5, 4), rng)
    with pytest.raises(nnframe.ShapeError, match="at least one time step"):
        layer.forward(np.zeros((2, 0, 4), np.float32))


def test_forward_on_an_unbuilt_layer_says_to_build_it():
    with pytest.raises(nnframe.NetworkStateError, match=r"lstm is not built: call build\("):
        nnframe.layer("lstm", 3).forward(np.zeros((2, 5, 4), np.float32))


def test_a_network_error_names_the_layer_and_the_expected_shape(rng):
    net = nnframe.Network([nnframe.layer("dense", output_size=4), nnframe.layer("lstm", 8)])
    with pytest.raises(nnframe.ShapeError,
                       match=r"^layer 1 \(lstm from nnframe-recurrent\): lstm expects sequences, "
                             r"a batch shaped \(N, time, features\), so samples of shape "
                             r"\(time, features\); got samples of shape \(4,\)"):
        net.build((10,))
    net = nnframe.Network([nnframe.layer("gru", 8)]).use("mse", "sgd")
    with pytest.raises(nnframe.ShapeError,
                       match=r"^layer 0 \(gru from nnframe-recurrent\): gru expects sequences"):
        net.fit(rng.random((6, 28, 28, 1)), rng.random((6, 8)), epochs=1, verbose=0)
