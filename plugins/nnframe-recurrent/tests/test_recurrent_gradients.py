"""rnn, lstm and gru: backward against float64 finite differences over whole sequences, for
every key and the input, alone and stacked; and the ways backward is called."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe
from nnframe.testing import assert_gradient_matches, loss_scale, numerical_gradient

nnframe_recurrent = pytest.importorskip(
    "nnframe_recurrent", reason="nnframe-recurrent is not installed: "
    "`pip install ./plugins/nnframe-recurrent` or run `nox -s tests`")
from conftest import EPS  # noqa: E402

F64 = np.dtype("float64")
LAYERS = ["rnn", "lstm", "gru"]
KEYS = {
    "rnn": {"input_weights", "recurrent_weights", "bias"},
    "lstm": {"input_weights", "recurrent_weights", "bias"},
    "gru": {"input_weights", "recurrent_weights", "input_bias", "recurrent_bias"},
}


def built(name, units, input_shape, rng, **kwargs):
    layer = nnframe.layer(name, units, **kwargs)
    layer.build(input_shape, rng, F64)
    return layer


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize(("batch", "time", "features", "units"), [
    (3, 4, 3, 5),   # features != units
    (2, 3, 6, 2),   # more features than units
    (4, 1, 2, 3),   # a single step: no recurrence at all
])
def test_gradients_over_the_whole_sequence(name, return_sequences, batch, time, features,
                                           units, rng, gradient_errors):
    layer = built(name, units, (time, features), rng, return_sequences=return_sequences)
    errors = gradient_errors(layer, rng.standard_normal((batch, time, features)), rng)
    assert set(errors) == {"input"} | KEYS[name]


@pytest.mark.parametrize("name", LAYERS)
def test_gradients_with_saturating_gates(name, rng, gradient_errors):
    """Large weights push the gates towards 0 and 1, where the derivatives are small."""
    layer = built(name, 4, (5, 3), rng, return_sequences=True)
    for value in layer.params.values():
        value *= 6.0
    gradient_errors(layer, rng.standard_normal((3, 5, 3)), rng)


def test_stacked_recurrent_layers_backpropagate_through_the_stack(rng):
    """rnn -> lstm -> gru, each handing on its whole sequence but the last, then dense:
    every parameter of the network and the network's input against finite differences."""
    L = nnframe.layer
    net = nnframe.Network([
        L("rnn", 4, return_sequences=True), L("lstm", 3, return_sequences=True),
        L("gru", 5), L("dense", output_size=2),
    ], dtype="float64").use("mse")
    net.build((4, 3), seed=3)
    x = rng.standard_normal((3, 4, 3))
    y = rng.standard_normal((3, 2))

    def loss() -> float:
        return net.loss.forward(y, net.forward(x, training=True))

    value = loss()
    scale = loss_scale(value, net.forward(x, training=True))
    grad_input = net.backward(net.loss.backward())
    assert_gradient_matches("input", grad_input, numerical_gradient(loss, x, EPS),
                            scale=scale, step=EPS)
    parameters = net.parameters()
    assert len(parameters) == 3 + 3 + 4 + 2
    analytic = {p.key: p.grad.copy() for p in parameters}
    for parameter in parameters:
        assert_gradient_matches(parameter.key, analytic[parameter.key], numerical_gradient(
            loss, parameter.value, EPS), scale=scale, step=EPS)


@pytest.mark.parametrize("name", LAYERS)
def test_backward_twice_after_one_forward_gives_the_same_gradients(name, rng):
    layer = built(name, 3, (4, 2), rng, return_sequences=True)
    x = rng.standard_normal((2, 4, 2))
    g = rng.standard_normal((2, 4, 3))
    layer.forward(x, training=True)
    first = layer.backward(g).copy(), {k: v.copy() for k, v in layer.grads.items()}
    second = layer.backward(g), layer.grads
    np.testing.assert_array_equal(first[0], second[0])
    for key in first[1]:
        np.testing.assert_array_equal(first[1][key], second[1][key])


@pytest.mark.parametrize("name", LAYERS)
def test_gradients_describe_the_last_batch_only(name, rng):
    """Buffers are reused between batches; nothing of an earlier batch leaks in."""
    layer = built(name, 3, (4, 2), rng)
    x, other = rng.standard_normal((2, 4, 2)), rng.standard_normal((5, 4, 2))
    g, other_g = rng.standard_normal((2, 3)), rng.standard_normal((5, 3))
    layer.forward(x, training=True)
    expected = layer.backward(g).copy(), {k: v.copy() for k, v in layer.grads.items()}
    layer.forward(other, training=True)
    layer.backward(other_g)
    layer.forward(x, training=True)
    np.testing.assert_array_equal(layer.backward(g), expected[0])
    for key, value in expected[1].items():
        np.testing.assert_array_equal(layer.grads[key], value)


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("name", LAYERS)
def test_backward_parameters_fills_the_same_gradients_as_backward(name, return_sequences, rng):
    """The first layer of a network is asked only for its parameter gradients."""
    layer = built(name, 3, (4, 2), rng, return_sequences=return_sequences)
    x = rng.standard_normal((2, 4, 2))
    g = rng.standard_normal(layer.forward(x).shape)
    layer.forward(x, training=True)
    layer.backward(g)
    expected = {k: v.copy() for k, v in layer.grads.items()}
    for grad in layer.grads.values():
        grad[...] = 0.0
    layer.forward(x, training=True)
    assert layer.backward_parameters(g) is None
    for key, grad in layer.grads.items():
        np.testing.assert_array_equal(grad, expected[key])


@pytest.mark.parametrize("name", LAYERS)
def test_grads_are_written_in_place(name, rng):
    """A network binds params and grads to views of its flat buffers: backward must write
    into the arrays it was given, never put new ones into the dicts."""
    layer = built(name, 3, (4, 2), rng)
    arrays = dict(layer.grads)
    layer.forward(rng.standard_normal((2, 4, 2)), training=True)
    layer.backward(rng.standard_normal((2, 3)))
    assert all(layer.grads[key] is array for key, array in arrays.items())
    assert all(np.any(array != 0) for array in arrays.values())


def test_a_network_asks_its_first_lstm_for_parameter_gradients_only(rng, monkeypatch):
    from nnframe_recurrent.recurrent import Recurrent  # where backward is defined

    net = nnframe.Network([nnframe.layer("lstm", 4), nnframe.layer("dense", output_size=3)])
    net.use("cross_entropy", "adam")
    calls = []
    original = Recurrent.backward
    monkeypatch.setattr(Recurrent, "backward",
                        lambda self, g: calls.append("backward") or original(self, g))
    net.fit(rng.standard_normal((16, 5, 2)), rng.integers(0, 3, 16), epochs=1, batch_size=8,
            verbose=0)
    # backward on the first batch only, where the network compares backward_parameters
    # with it; from then on backward_parameters alone
    assert calls == ["backward"]


@pytest.mark.parametrize("name", LAYERS)
def test_the_wrong_gradient_shape_is_refused(name, rng):
    layer = built(name, 3, (4, 2), rng)
    layer.forward(rng.standard_normal((2, 4, 2)), training=True)
    with pytest.raises(nnframe.ShapeError, match=rf"{name}: the gradient of its output has "
                                                 r"shape \(2, 4, 3\), expected \(2, 3\)"):
        layer.backward(np.zeros((2, 4, 3)))


def test_backward_before_a_training_forward_says_so(rng):
    layer = built("lstm", 3, (4, 2), rng)
    layer.forward(rng.standard_normal((2, 4, 2)))  # inference keeps nothing
    with pytest.raises(RuntimeError, match=r"LSTM.backward called before forward\(x, "
                                           r"training=True\)"):
        layer.backward(np.zeros((2, 3)))
