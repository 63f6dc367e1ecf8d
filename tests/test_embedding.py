"""embedding: lookups of whole-number indices in any numeric dtype, gradients that add up
over repeated indices, PyTorch's nn.Embedding (when installed), errors and networks."""

from __future__ import annotations

import attrs
import numpy as np
import pytest

import nnframe
from nnframe.errors import ConfigError, DataError
from nnframe.layers.embedding import Embedding
from nnframe.testing import assert_layer_gradients, check_layer, layer_gradients


def built(input_dim=7, output_dim=4, sample_shape=(5,), dtype="float64", seed=0):
    layer = nnframe.layer("embedding", input_dim, output_dim)
    layer.build(sample_shape, np.random.default_rng(seed), np.dtype(dtype))
    return layer


@pytest.mark.parametrize("shape", [(6,), (4, 5), (3, 4, 2)], ids=["(N,)", "(N,T)", "(N,T,F)"])
def test_gradient_against_finite_differences_with_repeated_indices(shape):
    layer = built(sample_shape=shape[1:])
    rng = np.random.default_rng(1)
    x = rng.integers(0, 7, shape).astype(np.float64)
    x.reshape(-1)[:3] = 2.0  # index 2 repeated: its gradient rows must add up
    upstream = rng.standard_normal((*shape, 4))
    assert_layer_gradients(layer, x, upstream, indices=True)
    pairs = layer_gradients(layer, x, upstream, indices=True)
    analytic_input, numeric_input = pairs["input"]
    np.testing.assert_array_equal(analytic_input, np.zeros(shape))
    np.testing.assert_array_equal(numeric_input, np.zeros(shape))


def test_forward_and_backward_are_the_lookup_and_its_scatter():
    layer = built()
    weights = layer.params["weights"]
    x = np.array([[0, 3, 3, 6, 1], [3, 0, 2, 2, 5]])
    y = layer.forward(x, training=True)
    assert y.shape == (2, 5, 4)
    np.testing.assert_array_equal(y, weights[x])
    upstream = np.random.default_rng(0).standard_normal(y.shape)
    grad = layer.backward(upstream)
    assert grad.shape == x.shape and not grad.any()
    expected = np.zeros_like(weights)
    for index, row in zip(x.reshape(-1), upstream.reshape(-1, 4), strict=True):
        expected[index] += row
    np.testing.assert_allclose(layer.grads["weights"], expected, rtol=1e-15)
    assert not layer.grads["weights"][4].any()  # never looked up: no gradient


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "int64", "uint64", "float32",
                                   "float64", "bool"])
def test_indices_in_any_numeric_dtype_give_the_same_vectors(dtype):
    layer = built()
    indices = np.array([[0, 1, 1], [1, 0, 1]]) if dtype == "bool" else \
        np.array([[0, 6, 3], [2, 2, 5]])
    expected = layer.params["weights"][indices]
    np.testing.assert_array_equal(layer.forward(indices.astype(dtype)), expected)


def test_dx_is_zeros_in_the_inputs_float_dtype():
    layer = built(dtype="float32")
    x = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]], np.float32)
    layer.forward(x, training=True)
    grad = layer.backward(np.ones((1, 5, 4), np.float32))
    assert grad.dtype == np.float32 and grad.shape == (1, 5) and not grad.any()
    layer.forward(x.astype(np.int64), training=True)
    assert layer.backward(np.ones((1, 5, 4), np.float32)).dtype == np.float32


def test_weights_are_standard_normal_drawn_from_the_given_generator():
    big = built(input_dim=400, output_dim=50)
    weights = big.params["weights"]
    assert weights.shape == (400, 50)
    assert abs(weights.mean()) < 0.02 and abs(weights.std() - 1.0) < 0.02
    again = built(input_dim=400, output_dim=50)
    np.testing.assert_array_equal(again.params["weights"], weights)
    single = built(input_dim=400, output_dim=50, dtype="float32")
    assert single.params["weights"].dtype == np.float32
    np.testing.assert_array_equal(single.params["weights"], weights.astype(np.float32))
    assert not np.array_equal(built(input_dim=400, output_dim=50, seed=1).params["weights"],
                              weights)


def test_output_shape_appends_the_vector_axis_and_parameter_shapes_ignore_the_input():
    layer = nnframe.layer("embedding", input_dim=10, output_dim=3)
    assert layer.output_shape((5,)) == (5, 3)
    assert layer.output_shape(()) == (3,)
    assert layer.output_shape((4, 2)) == (4, 2, 3)
    assert layer.parameter_shapes((4, 2)) == {"weights": (10, 3)}
    assert layer.get_config() == {"input_dim": 10, "output_dim": 3}


# -- bad indices ----------------------------------------------------------------------------


@pytest.mark.parametrize(("x", "message"), [
    (np.array([[0, 1, 7, 2, 1]]), r"embedding index 7 at position \(0, 2\) of its batch is "
     r"out of range: indices must be in \[0, 7\) for input_dim 7"),
    (np.array([[0, 1, 2, -1, 1]]), r"embedding index -1 at position \(0, 3\) of its batch is out"),
    (np.array([[0.0, 1.0, 2.0, 9.0, 1.0]]), r"embedding index 9 at position \(0, 3\)"),
    (np.array([[0.0, 2.5, 2.0, 1.0, 1.0]]), r"must be whole numbers, got 2\.5 at position "
     r"\(0, 1\) of its batch; give integer ids in \[0, 7\)"),
    (np.array([[0.0, 1.0, np.nan, 1.0, 1.0]]), r"must be whole numbers, got nan at position "
     r"\(0, 2\)"),
    (np.array([[0.0, 1.0, np.inf, 1.0, 1.0]]), r"embedding index inf at position \(0, 2\)"),
    (np.array([[0, 1, 2**63, 1, 1]], np.uint64), r"embedding index 9223372036854775808"),
    (np.array([["a", "b", "c", "d", "e"]]), "must be numbers, got dtype <U1"),
])
def test_bad_indices_are_data_errors_naming_the_value_and_where(x, message):
    layer = built()
    with pytest.raises(DataError, match=message):
        layer.forward(x)
    with pytest.raises(DataError, match=message):
        layer.forward(x, training=True)


def test_a_float32_network_refuses_more_indices_than_float32_holds_exactly():
    layer = nnframe.layer("embedding", 2**24 + 1, 1)
    with pytest.raises(ConfigError, match=r"input_dim 16,777,217 needs a float64 network: "
                       r"float32 inputs hold whole numbers exactly only up to 16,777,216"):
        layer.build((3,), np.random.default_rng(0), np.dtype("float32"))


@pytest.mark.parametrize("config", [{"input_dim": 0, "output_dim": 3},
                                    {"input_dim": 5, "output_dim": 2.5},
                                    {"input_dim": "5", "output_dim": 3}])
def test_bad_sizes_are_config_errors(config):
    with pytest.raises(ConfigError, match="must be a positive integer"):
        nnframe.layer("embedding", **config)


def test_bad_indices_in_fit_and_predict_name_the_layer_and_the_value():
    net = nnframe.Network([nnframe.layer("embedding", 5, 2), nnframe.layer("flatten"),
                           nnframe.layer("dense", output_size=2)]).use("cross_entropy", "adam")
    x = np.array([[0, 1, 2], [3, 4, 5]])
    with pytest.raises(DataError, match=r"layer 0 \(embedding\): embedding index 5 at "
                       r"position \(\d, 2\) of its batch"):
        net.fit(x, np.array([0, 1]), epochs=1, verbose=0)
    with pytest.raises(DataError, match="embedding index 5"):
        net.predict(x)


# -- PyTorch, when installed ----------------------------------------------------------------


def test_embedding_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (an optional "
                                "cross-check, never a test dependency)")
    layer = built(input_dim=9, output_dim=5, sample_shape=(6,))
    module = torch.nn.Embedding(9, 5, dtype=torch.float64)
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(layer.params["weights"]))
    rng = np.random.default_rng(3)
    x = rng.integers(0, 9, (4, 6))
    upstream = rng.standard_normal((4, 6, 5))
    yt = module(torch.from_numpy(x))
    yt.backward(torch.from_numpy(upstream))
    np.testing.assert_array_equal(layer.forward(x.astype(np.float64), training=True),
                                  yt.detach().numpy())
    layer.backward(upstream)
    np.testing.assert_allclose(layer.grads["weights"], module.weight.grad.numpy(),
                               rtol=1e-14, atol=1e-15)


# -- in a network, and in the kit -----------------------------------------------------------


def token_data(samples=256, length=6, seed=0):
    """Sequences of token ids; the class says whether token 1 occurs more often than 2."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 8, (samples, length))
    return x, ((x == 1).sum(axis=1) > (x == 2).sum(axis=1)).astype(np.int64)


def test_a_network_learns_from_integer_token_ids_and_saves(tmp_path):
    x, y = token_data()
    net = nnframe.Network([
        nnframe.layer("embedding", 8, 4), nnframe.layer("flatten"),
        nnframe.layer("dense", output_size=16), nnframe.layer("relu"),
        nnframe.layer("dense", output_size=2),
    ]).use("cross_entropy", nnframe.optimizer("adam", learning_rate=0.01))
    history = net.fit(x, y, epochs=20, batch_size=32, seed=0, verbose=0)
    assert history["loss"][-1] < 0.3 * history["loss"][0]
    assert net.evaluate(x, y)["accuracy"] > 0.95
    assert net.layers[0].params["weights"].dtype == np.float32
    loaded = nnframe.load(net.save(tmp_path / "tokens.npz"))
    np.testing.assert_array_equal(loaded.predict(x), net.predict(x))
    np.testing.assert_array_equal(loaded.predict(x.astype(np.int8)), net.predict(x))


@attrs.define(eq=False)
class LeakyLookup(Embedding):
    """Passes dE/dY summed over the vector back to the indices, as if they were inputs."""

    def backward(self, grad_output):
        super().backward(grad_output)
        return grad_output.sum(axis=-1)


def test_the_kit_expects_zero_gradient_for_indices():
    report = check_layer("embedding")
    assert report["gradient(input)"].passed and report["gradient(input)"].error == 0.0
    assert "skipped" in report["large_inputs"].detail
    leaky = check_layer(LeakyLookup, raises=False)
    assert [f.name for f in leaky.failures] == ["gradient(input)"]
    assert "finite differences 0" in leaky["gradient(input)"].detail
