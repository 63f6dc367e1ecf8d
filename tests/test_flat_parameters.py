"""The flat parameter buffers (nnframe.flat) and the training backward that stops early.

The fast paths must be invisible: the same numbers as one array per parameter, the same
optimizer state under the same keys, float64 kept, and layers that break the rules
(replacing their arrays, overriding only ``backward``) still trained correctly.
"""

from __future__ import annotations

import attrs
import numpy as np
import pytest

import nnframe
from nnframe.flat import FlatParameters

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


def trained(net: nnframe.Network, flat: bool, epochs: int = 3) -> nnframe.Network:
    x, y = data()
    net.flat_parameters = flat
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
    flat = net._binding.parameters.flat
    assert flat.value.dtype == np.float32 and flat.grad.dtype == np.float32
    for layer in net.layers:
        for name, value in layer.params.items():
            assert inside(value, flat.value) and inside(layer.grads[name], flat.grad)
            assert value.flags.c_contiguous and value.ctypes.data % 64 == 0
    trained(net, flat=True)
    assert all(inside(p.value, flat.value) for p in net.parameters())  # still linked


def inside(view: np.ndarray, buffer: np.ndarray) -> bool:
    """A contiguous view lying within a contiguous buffer."""
    start, low = buffer.ctypes.data, view.ctypes.data
    return start <= low and low + view.nbytes <= start + buffer.nbytes


@pytest.mark.parametrize(("name", "config"), OPTIMIZERS)
def test_one_step_over_the_buffer_equals_steps_per_parameter(name, config):
    flat = trained(network(optimizer=(name, config)).build((6,), seed=1), flat=True)
    single = trained(network(optimizer=(name, config)).build((6,), seed=1), flat=False)
    assert single._binding is None
    assert_same_training(flat, single)


def test_optimizer_state_keys_stay_per_parameter_and_save_load_resumes(tmp_path):
    net = trained(network().build((6,), seed=2), flat=True)
    keys = {key.rpartition("/")[0] for key in net.optimizer.state_dict() if "/" in key}
    assert keys == {"0.weights", "0.bias", "2.weights", "2.bias", "4.weights", "4.bias"}
    net.save(tmp_path / "model.npz")
    loaded = nnframe.load(tmp_path / "model.npz")
    x, y = data()
    for each in (net, loaded):
        each.fit(x, y, epochs=5, batch_size=8, initial_epoch=3, verbose=0)
    assert_same_training(net, loaded)


def test_float64_networks_stay_float64():
    net = trained(network(dtype="float64").build((6,), seed=3), flat=True)
    assert net._binding.parameters.flat.value.dtype == np.float64
    assert all(p.value.dtype == np.float64 and p.grad.dtype == np.float64
               for p in net.parameters())
    assert all(a.dtype == np.float64 for k, a in net.optimizer.state_dict().items()
               if k != "iterations")


@attrs.define(eq=False)
class ReplacingDense(nnframe.Layer):
    """A layer that breaks the link: it puts new arrays into its dicts on every call."""

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


def test_a_layer_that_replaces_its_arrays_still_trains_exactly():
    def run(flat: bool) -> list[np.ndarray]:
        net = nnframe.Network([nnframe.layer("dense", 6, 4), ReplacingDense(3),
                               nnframe.layer("dense", 3, 2)])
        net.use("cross_entropy", nnframe.optimizer("adam", learning_rate=0.05))
        net.build((6,), seed=4)
        before = net.layers[1].params["w"].copy()
        trained(net, flat=flat)
        assert not np.array_equal(net.layers[1].params["w"], before)  # it did learn
        return [p.value.copy() for p in net.parameters()]

    for a, b in zip(run(flat=True), run(flat=False), strict=True):
        np.testing.assert_array_equal(a, b)


def test_parameters_handed_to_the_optimizer():
    seen = []

    class Recording(nnframe.optimizer("sgd").__class__):
        def step(self, parameters):
            seen.append(parameters)
            super().step(parameters)

    x, y = data()
    net = network().use("cross_entropy", Recording(learning_rate=0.1)).build((6,), seed=5)
    net.fit(x, y, epochs=1, batch_size=20, verbose=0)
    assert all(isinstance(p, FlatParameters) for p in seen)
    assert [p.key for p in seen[0]] == [p.key for p in net.parameters()]  # still a list
    net.flat_parameters = False
    net.fit(x, y, epochs=1, batch_size=20, verbose=0)
    assert not isinstance(seen[-1], FlatParameters)


def test_params_replaced_by_the_user_between_fits_are_taken_in():
    x, y = data()
    net = trained(network().build((6,), seed=6), flat=True)
    net.layers[0].params["weights"] = np.zeros((6, 5), np.float32)
    net.fit(x, y, epochs=1, batch_size=8, learning_rate=0.0, verbose=0)
    assert np.all(net.layers[0].params["weights"] == 0.0)
    assert inside(net.layers[0].params["weights"], net._binding.parameters.flat.value)


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_copied_network_keeps_training_in_its_own_buffers(how):
    """A copy's layers must not hold views of buffers the optimizer no longer steps."""
    import copy
    import pickle

    x, y = data()
    original = trained(network(), flat=True, epochs=1)
    twin = trained(network(), flat=True, epochs=1)
    copied = copy.deepcopy(original) if how == "deepcopy" else pickle.loads(pickle.dumps(original))
    for net in (twin, copied):
        net.fit(x, y, epochs=3, batch_size=8, initial_epoch=1, verbose=0)
    assert_same_training(twin, copied)
    assert inside(copied.layers[0].params["weights"], copied._binding.parameters.flat.value)
    before = original.layers[0].params["weights"].copy()
    copied.fit(x, y, epochs=4, batch_size=8, initial_epoch=3, verbose=0)
    np.testing.assert_array_equal(original.layers[0].params["weights"], before)
