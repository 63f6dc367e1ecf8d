"""Where a network keeps its parameters (nnframe.core.parameters): one buffer for the values and
one for the gradients, bound at build, the layers holding views.

The fast path must be invisible: optimizer state under per-parameter keys, float64 kept,
weights set by hand between fits taken in, and a layer that breaks the rule (putting new
arrays into its dicts during training) stopped with an error that names it.
"""

from __future__ import annotations

import attrs
import numpy as np
import pytest

import nnframe
from nnframe.core.contracts import ParameterGroup
from nnframe.errors import NetworkStateError, ShapeError

OPTIMIZERS = [
    ("sgd", {"learning_rate": 0.1}),
    ("sgd", {"learning_rate": 0.05, "momentum": 0.9}),
    ("sgd", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    ("adam", {"learning_rate": 0.01}),
    ("adamw", {"learning_rate": 0.01, "weight_decay": 0.1}),
    ("rmsprop", {"learning_rate": 0.01, "momentum": 0.5}),
]


def data(samples: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples, 6)).astype(np.float32)
    return x, (x[:, :2].sum(axis=1) > 0).astype(np.int64)


def network(*extra: nnframe.Layer, dtype: str = "float32",
            optimizer: tuple[str, dict] = ("adam", {})) -> nnframe.Network:
    layers = [*extra, nnframe.layer("dense", output_size=5), nnframe.layer("tanh"),
              nnframe.layer("dense", output_size=3), nnframe.layer("relu"),
              nnframe.layer("dense", output_size=2)]
    net = nnframe.Network(layers, dtype=dtype)
    name, config = optimizer
    return net.use("cross_entropy", nnframe.optimizer(name, **config))


def trained(net: nnframe.Network, epochs: int = 3) -> nnframe.Network:
    x, y = data()
    net.fit(x, y, epochs=epochs, batch_size=8, seed=7, verbose=0)
    return net


def assert_same_training(a: nnframe.Network, b: nnframe.Network) -> None:
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert pa.key == pb.key
        np.testing.assert_array_equal(pa.value, pb.value)
    sa, sb = a.optimizer.state_dict(), b.optimizer.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        np.testing.assert_array_equal(sa[key], sb[key])


def test_params_and_grads_are_views_of_two_buffers():
    net = network().build((6,), seed=0)
    group = net.parameters()
    assert group.values.dtype == np.float32 and group.grads.dtype == np.float32
    for layer in net.layers:
        for name, value in layer.params.items():
            assert inside(value, group.values) and inside(layer.grads[name], group.grads)
            assert value.flags.c_contiguous and value.ctypes.data % 64 == 0
    trained(net)
    assert net.parameters() is group  # bound once, at build
    assert all(inside(p.value, group.values) for p in net.parameters())


def inside(view: np.ndarray, buffer: np.ndarray) -> bool:
    """A contiguous view lying within a contiguous buffer."""
    start, low = buffer.ctypes.data, view.ctypes.data
    return start <= low and low + view.nbytes <= start + buffer.nbytes


@pytest.mark.parametrize(("name", "config"), OPTIMIZERS)
def test_steps_do_not_depend_on_where_parameters_sit_in_the_buffer(name, config):
    """The same parameters laid out in two groups of different order and gaps take the
    same steps: an update rule over the whole buffer is element-wise."""
    rng = np.random.default_rng(0)
    shapes = {"0.weights": (6, 5), "0.bias": (5,), "2.weights": (5, 3), "2.bias": (3,)}
    values = {key: rng.standard_normal(shape) for key, shape in shapes.items()}
    grads = [{key: rng.standard_normal(shape) for key, shape in shapes.items()}
             for _ in range(4)]
    results = []
    for order in (list(shapes), list(reversed(shapes))):
        group = ParameterGroup.allocate({key: shapes[key] for key in order}, "float64")
        optimizer = nnframe.optimizer(name, **config)
        for p in group:
            p.value[...] = values[p.key]
        for step in grads:
            for p in group:
                p.grad[...] = step[p.key]
            optimizer.step(group)
        results.append({p.key: p.value.copy() for p in group})
    for key in shapes:
        np.testing.assert_array_equal(results[0][key], results[1][key])


def test_optimizer_state_keys_stay_per_parameter_and_save_load_resumes(tmp_path):
    net = trained(network().build((6,), seed=2))
    keys = {key.rpartition("/")[0] for key in net.optimizer.state_dict() if "/" in key}
    assert keys == {"0.weights", "0.bias", "2.weights", "2.bias", "4.weights", "4.bias"}
    net.save(tmp_path / "model.npz")
    loaded = nnframe.load(tmp_path / "model.npz")
    x, y = data()
    for each in (net, loaded):
        each.fit(x, y, epochs=5, batch_size=8, initial_epoch=3, verbose=0)
    assert_same_training(net, loaded)


def test_float64_networks_stay_float64():
    net = trained(network(dtype="float64").build((6,), seed=3))
    assert net.parameters().values.dtype == np.float64
    assert all(p.value.dtype == np.float64 and p.grad.dtype == np.float64
               for p in net.parameters())
    assert all(a.dtype == np.float64 for k, a in net.optimizer.state_dict().items()
               if k != "iterations")


@attrs.define(eq=False)
class ReplacingDense(nnframe.Layer):
    """A layer that breaks the rule: it puts a new gradient array into its dict."""

    units: int = 3
    _input: np.ndarray | None = attrs.field(init=False, default=None)

    def build(self, input_shape, rng, dtype):
        w = rng.uniform(-0.5, 0.5, (input_shape[-1], self.units)).astype(dtype)
        self.params = {"w": w}
        self.grads = {"w": np.zeros_like(w)}

    def output_shape(self, input_shape):
        return (self.units,)

    def forward(self, x, training=False):
        self._input = x
        self.params = dict(self.params)  # a new dict, the same array
        return x @ self.params["w"]

    def backward(self, grad_output):
        self.grads["w"] = self._input.T @ grad_output  # a new array: no longer the view
        return grad_output @ self.params["w"].T


def test_a_layer_that_replaces_its_arrays_is_stopped_with_its_name():
    net = nnframe.Network([nnframe.layer("dense", 6, 4), ReplacingDense(3),
                           nnframe.layer("dense", 3, 2)])
    net.use("cross_entropy", nnframe.optimizer("adam", learning_rate=0.05))
    x, y = data()
    with pytest.raises(NetworkStateError, match=r"layer 1 \(ReplacingDense\): grads\['w'\] "
                       r"was replaced .* in place"):
        net.fit(x, y, epochs=1, batch_size=8, seed=4, verbose=0)


@attrs.define(eq=False)
class Float64Dense(ReplacingDense):
    """A layer that ignores the dtype it is given."""

    def build(self, input_shape, rng, dtype):
        super().build(input_shape, rng, np.float64)


def test_parameters_of_another_dtype_are_refused_at_build():
    net = nnframe.Network([nnframe.layer("dense", 6, 4), Float64Dense(3)])
    with pytest.raises(ShapeError, match=r"layer 1 \(Float64Dense\): params\['w'\] is "
                       "float64, but the network is float32"):
        net.build((6,))


def test_parameters_handed_to_the_optimizer():
    seen = []

    class Recording(nnframe.optimizer("sgd").__class__):
        def step(self, parameters):
            seen.append(parameters)
            super().step(parameters)

    x, y = data()
    net = network().use("cross_entropy", Recording(learning_rate=0.1)).build((6,), seed=5)
    net.fit(x, y, epochs=1, batch_size=20, verbose=0)
    assert all(p is net.parameters() for p in seen)  # the network's one group
    assert isinstance(seen[0], ParameterGroup)
    assert [p.key for p in seen[0]] == [p.key for p in net.parameters()]  # iterable


def test_params_replaced_by_the_user_between_fits_are_taken_in():
    x, y = data()
    net = trained(network().build((6,), seed=6))
    net.layers[0].params["weights"] = np.zeros((6, 5), np.float32)
    net.fit(x, y, epochs=1, batch_size=8, learning_rate=0.0, verbose=0)
    assert np.all(net.layers[0].params["weights"] == 0.0)
    assert inside(net.layers[0].params["weights"], net.parameters().values)


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_copied_network_keeps_training_in_its_own_buffers(how):
    """A copy's layers must not hold views of buffers the optimizer no longer steps."""
    import copy
    import pickle

    x, y = data()
    original = trained(network(), epochs=1)
    twin = trained(network(), epochs=1)
    copied = copy.deepcopy(original) if how == "deepcopy" else pickle.loads(pickle.dumps(original))
    for net in (twin, copied):
        net.fit(x, y, epochs=3, batch_size=8, initial_epoch=1, verbose=0)
    assert_same_training(twin, copied)
    assert inside(copied.layers[0].params["weights"], copied.parameters().values)
    before = original.layers[0].params["weights"].copy()
    copied.fit(x, y, epochs=4, batch_size=8, initial_epoch=3, verbose=0)
    np.testing.assert_array_equal(original.layers[0].params["weights"], before)
