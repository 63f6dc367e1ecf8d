"""Training's backward stops at the first layer with parameters, which is asked for its
parameter gradients only (``backward_parameters``): no dE/dX of the network's input."""

from __future__ import annotations

import attrs
import numpy as np

import nnframe


def data(samples: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples, 6)).astype(np.float32)
    return x, (x[:, :2].sum(axis=1) > 0).astype(np.int64)


DENSE = type(nnframe.layer("dense", 2, 2))


@attrs.define(eq=False)
class RecordingDense(DENSE):
    """Dense that records which backward the network calls."""

    calls: list = attrs.field(init=False, factory=list)

    def backward(self, grad_output):
        self.calls.append("backward")
        return super().backward(grad_output)

    def backward_parameters(self, grad_output):
        self.calls.append("parameters")
        super().backward_parameters(grad_output)


@attrs.define(eq=False)
class Counting(nnframe.Layer):
    """Identity that counts its backward calls."""

    calls: list = attrs.field(init=False, factory=list)

    def forward(self, x, training=False):
        return x

    def backward(self, grad_output):
        self.calls.append("backward")
        return grad_output


def test_training_stops_backward_at_the_first_layer_with_parameters():
    x, y = data()
    before, first, second = Counting(), RecordingDense(output_size=4), RecordingDense(output_size=2)
    net = nnframe.Network([before, first, nnframe.layer("tanh"), second])
    net.use("cross_entropy", nnframe.optimizer("sgd", learning_rate=0.1)).build((6,), seed=8)
    net.fit(x, y, epochs=1, batch_size=20, verbose=0)
    assert before.calls == []  # no layer before the first with parameters
    # the first batch compares backward_parameters with backward (whose Dense code calls
    # backward_parameters itself); the second asks for the parameter gradients alone
    assert first.calls == ["backward", "parameters", "parameters", "parameters"]
    assert second.calls == ["backward", "parameters"] * 2
    net.forward(x[:3], training=True)
    assert net.backward(np.ones((3, 2), np.float32)).shape == (3, 6)  # public: the full chain
    assert before.calls == ["backward"]


def test_dense_parameter_gradients_match_full_backward():
    rng = np.random.default_rng(9)
    layer = nnframe.layer("dense", 4, 3)
    layer.build((4,), rng, np.float64)
    x, g = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    layer.forward(x, training=True)
    layer.backward(g)
    full = {k: v.copy() for k, v in layer.grads.items()}
    for value in layer.grads.values():
        value[...] = 0.0
    assert layer.backward_parameters(g) is None
    for key, value in layer.grads.items():
        np.testing.assert_array_equal(value, full[key])


def test_a_subclass_overriding_only_backward_keeps_its_gradients():
    dense_class = DENSE

    @attrs.define(eq=False)
    class DoubledGradients(dense_class):
        def backward(self, grad_output):
            return super().backward(2.0 * grad_output)

    x, y = data()

    def first_weights(layer) -> np.ndarray:
        net = nnframe.Network([layer, nnframe.layer("dense", output_size=2)])
        net.use("cross_entropy", nnframe.optimizer("sgd", learning_rate=0.1)).build((6,), 0)
        net.fit(x, y, epochs=1, batch_size=40, shuffle=False, verbose=0)
        return net.layers[0].params["weights"]

    plain, doubled = first_weights(dense_class(6, 3)), first_weights(DoubledGradients(6, 3))
    start = nnframe.Network([dense_class(6, 3), nnframe.layer("dense", output_size=2)])
    start.build((6,), 0)
    initial = start.layers[0].params["weights"]
    np.testing.assert_allclose(doubled - initial, 2.0 * (plain - initial), rtol=1e-5, atol=1e-7)


def test_a_third_party_first_layer_without_backward_parameters_gets_backward():
    x, y = data()
    net = nnframe.Network([nnframe.layer("dense", 6, 3), nnframe.layer("dense", 3, 2)])
    net.use("cross_entropy", nnframe.optimizer("sgd", learning_rate=0.1)).build((6,), 0)

    class Plain:  # a protocol layer, no base class, no backward_parameters
        def __init__(self, inner):
            self.inner, self.calls = inner, 0
            self.params, self.grads = inner.params, inner.grads

        def build(self, *args):
            self.inner.build(*args)

        def output_shape(self, shape):
            return self.inner.output_shape(shape)

        def forward(self, x, training=False):
            return self.inner.forward(x, training)

        def backward(self, grad):
            self.calls += 1
            return self.inner.backward(grad)

        def get_config(self):
            return self.inner.get_config()

    plain = Plain(net.layers[0])
    net.layers[0] = plain
    before = plain.params["weights"].copy()
    net.fit(x, y, epochs=1, batch_size=20, verbose=0)
    assert plain.calls == 2
    assert not np.array_equal(plain.params["weights"], before)
