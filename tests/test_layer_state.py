"""Layer state: arrays that are not trained (running statistics), kept apart from params.

State is saved and restored by model files, kept with the weights by early stopping and by
divergence recovery, never given to an optimizer (weight decay included), counted as
non-trainable, and checked by the kit.
"""

from __future__ import annotations

import attrs
import numpy as np
import pytest

import nnframe
from nnframe.testing import check_layer
from tests.fake_plugins import plugin_module


@attrs.define(eq=False)
class Centering(nnframe.Layer):
    """y = x - batch mean + shift in training (updating the running mean), and
    y = x - running mean + shift at inference."""

    momentum: float = 0.5
    _batch: tuple | None = attrs.field(init=False, default=None, repr=False)

    def build(self, input_shape, rng, dtype):
        features = input_shape[-1]
        self.params = {"shift": rng.uniform(-0.1, 0.1, features).astype(dtype)}
        self.grads = {"shift": np.zeros(features, dtype)}
        self.state = {"running_mean": np.zeros(features, dtype)}

    def forward(self, x, training=False):
        axes = tuple(range(x.ndim - 1))
        if not training:
            return x - self.state["running_mean"] + self.params["shift"]
        self._batch = (axes, x.size // x.shape[-1])
        if len(x) == 0:  # an empty batch has no mean
            return x + self.params["shift"]
        mean = x.mean(axis=axes)
        self.state["running_mean"] *= 1.0 - self.momentum
        self.state["running_mean"] += self.momentum * mean
        return x - mean + self.params["shift"]

    def backward(self, grad_output):
        axes, count = self._batch
        total = np.sum(grad_output, axis=axes)
        self.grads["shift"][...] = total
        return grad_output - total / max(count, 1)


@attrs.define(eq=False)
class InferenceUpdates(Centering):
    """Breaks the rule: inference moves the running mean too."""

    def forward(self, x, training=False):
        self.state["running_mean"] += 1.0
        return super().forward(x, training)


@pytest.fixture(autouse=True)
def registered():
    def register_layers(register):
        register("centering", Centering)
        register("inference_updates", InferenceUpdates)

    nnframe.get_registry().register_plugin(
        plugin_module("state_tests", register_layers=register_layers), "state-tests")


def data(samples=64, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((samples, 4)) * 3 + 5).astype(np.float32)
    return x, (x[:, 0] > 5).astype(np.int64)


def network(optimizer="adam", **config):
    net = nnframe.Network([nnframe.layer("dense", 4, 6), nnframe.layer("centering"),
                           nnframe.layer("relu"), nnframe.layer("dense", 6, 2)])
    return net.use("cross_entropy", nnframe.optimizer(optimizer, **config))


def test_state_is_saved_and_restored_bit_for_bit(tmp_path):
    x, y = data()
    net = network()
    net.fit(x, y, epochs=3, batch_size=16, seed=0, verbose=0)
    assert np.any(net.state()["1.running_mean"] != 0)
    loaded = nnframe.load(net.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(loaded.state()["1.running_mean"],
                                  net.state()["1.running_mean"])
    np.testing.assert_array_equal(loaded.predict(x), net.predict(x))


def test_inference_reads_the_running_statistics():
    x, y = data()
    net = network()
    net.fit(x, y, epochs=1, batch_size=16, seed=0, verbose=0)
    layer = net.layers[1]
    before = layer.state["running_mean"].copy()
    net.predict(x)
    net.evaluate(x, y)
    np.testing.assert_array_equal(layer.state["running_mean"], before)


def test_state_is_never_given_to_the_optimizer():
    x, y = data()
    net = network("adamw", learning_rate=0.01, weight_decay=0.5)
    keys = [p.key for p in net.build((4,), seed=1).parameters()]
    assert "1.running_mean" not in keys and "1.shift" in keys
    net.layers[1].state["running_mean"][...] = 1.0
    net.fit(x, y, epochs=1, batch_size=64, learning_rate=0.0, shuffle=False, verbose=0)
    # one training batch moved it by momentum towards the batch mean; no decay on top
    expected = 0.5 * 1.0 + 0.5 * net.layers[0].forward(x).mean(axis=0)
    np.testing.assert_allclose(net.layers[1].state["running_mean"], expected, rtol=1e-5)
    assert not any("running_mean" in key for key in net.optimizer.state_dict())


def test_summary_counts_state_as_non_trainable():
    net = network().build((4,), seed=0)
    lines = []
    net.summary(print_fn=lines.append)
    assert f"Trainable params: {4 * 6 + 6 + 6 + 6 * 2 + 2:,}" in lines
    assert "Non-trainable params: 6" in lines
    assert any("centering" in line and "6 (+6)" in line for line in lines)
    assert net.count_state() == 6


def test_early_stopping_restores_state_with_the_weights():
    x, y = data(200)
    net = network(learning_rate=0.05)
    best_state = {}

    class Spy(nnframe.Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == stopper.best_epoch:
                best_state["mean"] = self.network.state()["1.running_mean"].copy()

    stopper = nnframe.EarlyStopping(monitor="val_loss", patience=1,
                                    restore_best_weights=True)
    net.fit(x[:150], y[:150], epochs=30, batch_size=16, seed=0, verbose=0,
            validation_data=(x[150:], y[150:]), callbacks=[stopper, Spy()])
    assert stopper.stopped_epoch is not None
    np.testing.assert_array_equal(net.state()["1.running_mean"], best_state["mean"])


def test_divergence_restores_state_from_the_start_of_the_epoch():
    x, y = data()
    net = network("sgd", learning_rate=1e38)
    net.build((4,), seed=0)
    net.layers[1].state["running_mean"][...] = 7.0
    with pytest.raises(nnframe.TrainingDivergedError, match="layer state"):
        net.fit(x, y, epochs=1, batch_size=8, verbose=0)
    np.testing.assert_array_equal(net.layers[1].state["running_mean"], 7.0)


def test_the_kit_checks_state():
    report = check_layer(Centering, (3,))
    assert report["model_file_roundtrip"].passed
    assert "state" in report["stateless_inference"].detail
    broken = check_layer(InferenceUpdates, (3,), raises=False)
    # it moves the state on every pass, an empty training batch's included
    assert [f.name for f in broken.failures] == ["stateless_inference", "empty_batch"]
    assert "changed state['running_mean']" in broken["stateless_inference"].detail


def test_a_file_of_format_1_without_state_still_loads(tmp_path):
    from nnframe.modelfile.format import HEADER_KEY, read_header
    from nnframe.modelfile.npz import read_npz, write_npz

    x, y = data()
    net = nnframe.Network([nnframe.layer("dense", 4, 2)]).use("cross_entropy", "sgd")
    net.fit(x, y, epochs=1, verbose=0, seed=0)
    path = net.save(tmp_path / "new.npz")
    arrays = read_npz(path)
    header = read_header(path, arrays.pop(HEADER_KEY))
    header["format_version"] = 1
    del header["metrics"]
    old = tmp_path / "old.npz"
    from nnframe.modelfile.format import header_bytes

    with open(old, "wb") as file:
        write_npz(file, {HEADER_KEY: header_bytes(header), **arrays})
    np.testing.assert_array_equal(nnframe.load(old).predict(x), net.predict(x))
