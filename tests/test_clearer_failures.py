"""Failures that pointed the wrong way now name their cause (issue 28, the low groups):
the first non-finite layer, memory, a plugin's constructor, a BOM, a negative variance,
a schedule's last rate; and what costs memory or time beyond reason is bounded."""

from __future__ import annotations

import json
import tracemalloc
import zipfile

import numpy as np
import pytest

import nnframe
from nnframe import initializers
from nnframe.constants import MAX_LAYERS
from nnframe.core import registry
from nnframe.errors import (
    ConfigError,
    DataError,
    ModelFileError,
    PluginError,
    TrainingDivergedError,
)
from nnframe.layers.activations import Tanh
from tests.fake_plugins import plugin_module
from tests.test_cli_train import run_main, write_config


def data(rows: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(rows, 4)).astype(np.float32), np.zeros((rows, 1), np.float32)


def test_inputs_beyond_float32_are_a_data_error_not_a_learning_rate():
    x, y = data()
    net = nnframe.Network([nnframe.layer("dense", 4, 1)]).use("mse", "sgd")
    with pytest.raises(DataError, match=r"x holds values up to 2\.\d+e\+300, beyond the "
                                        r"largest float32"):
        net.fit(x.astype(np.float64) * 1e300, y, epochs=1, verbose=0)
    with pytest.raises(DataError, match="y holds values up to"):
        net.fit(x, y.astype(np.float64) + 1e300, epochs=1, verbose=0)
    wide = nnframe.Network([nnframe.layer("dense", 4, 1)], dtype="float64").use("mse", "sgd")
    wide.build((4,), seed=0)
    wide.predict(x.astype(np.float64) * 1e300)  # float64 holds them: no error


class NaNBackward(Tanh):
    def backward(self, grad_output):
        grad = super().backward(grad_output)
        grad[0, 0] = np.nan
        return grad


class Exploding(Tanh):
    def forward(self, x, training=False):
        huge = np.float32(1e30)
        return super().forward(x, training) * huge * huge  # overflows float32


def test_a_layer_whose_backward_gives_nan_is_named():
    x, y = data()
    net = nnframe.Network([nnframe.layer("dense", 4, 3), NaNBackward(),
                           nnframe.layer("dense", 3, 1)]).use("mse", "sgd")
    with pytest.raises(TrainingDivergedError) as info:
        net.fit(x, y, epochs=1, verbose=0, seed=0)
    message = str(info.value)
    assert message.startswith("layer 1 (NaNBackward) gave NaN or infinite gradients at "
                              "epoch 1, batch 1, although the loss")
    assert "learning rate" not in message.split("not a")[0]
    assert np.isfinite(net.parameters().values).all()  # the weights were not updated


def test_the_first_layer_with_non_finite_outputs_is_named():
    x, y = data()
    net = nnframe.Network([nnframe.layer("dense", 4, 3), Exploding(),
                           nnframe.layer("dense", 3, 1)]).use("mse", "sgd")
    with pytest.raises(TrainingDivergedError, match=r"\(layer 1 \(Exploding\) is the first "
                                                    r"to give NaN or infinite outputs"):
        net.fit(x, y, epochs=1, verbose=0, seed=0)


def test_memory_errors_name_the_layer_or_component_not_a_bug():
    net = nnframe.Network([nnframe.layer("dense", output_size=10**12)])
    with pytest.raises(ConfigError, match=r"layer 0 \(dense\): not enough memory for its "
                                          r"weights on input of shape \(10\*\*6,\)|layer 0"):
        net.build((10**6,))

    class Hungry(Tanh):
        def forward(self, x, training=False):
            raise MemoryError

    x, y = data()
    hungry = nnframe.Network([nnframe.layer("dense", 4, 1), Hungry()]).use("mse", "sgd")
    with pytest.raises(DataError, match=r"layer 1 \(Hungry\): forward ran out of memory "
                                        "for this batch; use a smaller batch_size"):
        hungry.fit(x, y, epochs=1, verbose=0)


def test_a_plugin_constructor_error_names_the_plugin_in_python_too():
    class Picky(Tanh):
        def __init__(self, size=1):
            raise ValueError("size must be even")

    def register_layers(register):
        register("picky", Picky)

    registry.get_registry().register_plugin(
        plugin_module("picky_plugin", register_layers=register_layers), "picky",
        distribution="nnframe-picky", version="1.0")
    with pytest.raises(PluginError, match=r"layer 'picky' of nnframe-picky \(plugin 'picky'\)"
                                          r" could not be created: ValueError: size must "):
        nnframe.layer("picky", size=3)


def test_a_toml_file_starting_with_a_bom_reads(tmp_path):
    config = write_config(tmp_path)
    config.write_bytes(b"\xef\xbb\xbf" + config.read_bytes())
    from nnframe.config import load_config

    assert load_config(config).train.epochs == 2


def test_a_negative_running_variance_is_refused_on_load(tmp_path):
    net = nnframe.Network([nnframe.layer("dense", 3, 2), nnframe.layer("batch_norm")])
    path = net.build((3,), seed=0).save(tmp_path / "bn.npz")
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.array([1.0, -1.0], np.float32))
    members["state/1.running_var.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    with pytest.raises(ModelFileError, match=r"layer 1 \(batch_norm\): ValueError: "
                       r"running_var holds 1 negative values \(first at feature 1: -1\)"):
        nnframe.load(path)


def test_summary_shows_the_configured_rate_not_the_schedules_last(tmp_path, capsys):
    config = write_config(tmp_path, loss="cross_entropy")
    config.write_text(config.read_text().replace("seed = 0", 'seed = 0\nschedule = '
                                                 '{ type = "cosine", min_learning_rate = 0.0 }'))
    model = tmp_path / "m.npz"
    assert run_main(capsys, "train", config, "-q", "-o", model)[0] == 0
    status, out, _ = run_main(capsys, "summary", model)
    assert status == 0
    line = next(line for line in out.splitlines() if line.startswith("Optimizer:"))
    assert "learning_rate=0.5" in line and "the schedule's rate at the last step" in line


def test_initializers_draw_without_a_float64_copy_and_give_the_same_values():
    rng = np.random.default_rng(3)
    old = (np.random.default_rng(3).random(size=(30, 7)) - 0.5).astype(np.float32)
    np.testing.assert_array_equal(initializers.SeedUniform()((30, 7), 30, 7, rng, np.float32),
                                  old)
    shape = (2000, 2000)  # 16 MB in float32; in float64 first it peaked at 48 MB
    tracemalloc.start()
    try:
        weights = initializers.GlorotNormal()(shape, 2000, 2000, np.random.default_rng(0),
                                              np.float32)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert weights.dtype == np.float32
    assert peak < 1.2 * weights.nbytes + 3 * initializers.DRAW_CHUNK * 8, peak


def test_configs_and_model_files_with_too_many_layers_are_refused(tmp_path):
    from nnframe.config import parse_config

    too_many = [{"type": "tanh"}] * (MAX_LAYERS + 1)
    raw = {"model": {"layers": too_many}, "loss": {"type": "mse"},
           "optimizer": {"type": "sgd", "learning_rate": 0.1},
           "data": {"dataset": "xor"}, "train": {"epochs": 1}}
    with pytest.raises(ConfigError, match="describes 10,001 layers"):
        parse_config(raw)
    path = nnframe.Network([nnframe.layer("tanh")]).build((2,)).save(tmp_path / "m.npz")
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = json.loads(np.load(path)["header"].tobytes())
    header["layers"] = header["layers"] * (MAX_LAYERS + 1)
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(json.dumps(header).encode(), np.uint8))
    members["header.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    with pytest.raises(ModelFileError, match="describes 10,001 layers"):
        nnframe.load(path)


def test_nested_keys_find_their_layer_through_the_prefix_index():
    """A composite's params view finds a key through its dots (3,000 parallel branches
    took 75 s to build and bind when every key tried every inner layer; now seconds)."""
    inner = nnframe.layer("sequential", layers=[nnframe.layer("dense", output_size=2)])
    outer = nnframe.layer("sequential", layers=[nnframe.layer("dense", output_size=3),
                                                inner])
    net = nnframe.Network([outer]).build((4,), seed=0)
    params = net.layers[0].params
    assert sorted(params) == ["0.bias", "0.weights", "1.0.bias", "1.0.weights"]
    assert params["1.0.weights"] is inner.layers[0].params["weights"]
    assert params["0.weights"].shape == (4, 3)
    with pytest.raises(KeyError):
        params["1.weights"]
    wide = nnframe.layer("parallel", branches=[[nnframe.layer("dense", output_size=1)]
                                               for _ in range(300)])
    built = nnframe.Network([wide]).build((2,), seed=0)
    assert built.count_params() == 300 * 3
    assert built.layers[0].params["299.0.weights"] is wide.branches[299][0].params["weights"]
