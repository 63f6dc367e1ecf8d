"""The recurrent layers inside an nnframe Network: training on a task that needs memory,
dtypes end to end, model files, summary, the training config and `nnframe check`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnframe
from nnframe.summary import summary_rows

pytest.importorskip(
    "nnframe_recurrent", reason="nnframe-recurrent is not installed: "
    "`pip install ./plugins/nnframe-recurrent` or run `nox -s tests`")

L = nnframe.layer
ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "seq_mnist.toml"


def first_step_sign(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Noisy sequences of 8 steps; the class is the sign of the very first value, so the
    network has to carry it through seven steps of noise."""
    x = rng.standard_normal((n, 8, 2)).astype(np.float32)
    return x, (x[:, 0, 0] > 0).astype(np.int64)


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
def test_a_recurrent_network_remembers_the_first_step(name, rng):
    x, y = first_step_sign(rng, 512)
    net = nnframe.Network([L(name, 16), L("dense", output_size=2)])
    net.use("cross_entropy", nnframe.optimizer("adam", learning_rate=0.01))
    net.fit(x, y, epochs=25, batch_size=32, seed=0, verbose=0)
    x_test, y_test = first_step_sign(rng, 256)
    assert net.evaluate(x_test, y_test)["accuracy"] > 0.9


def test_stacked_layers_train_together(rng):
    x, y = first_step_sign(rng, 512)
    net = nnframe.Network([L("gru", 12, return_sequences=True), L("lstm", 12),
                           L("dense", output_size=2)])
    net.use("cross_entropy", nnframe.optimizer("adam", learning_rate=0.01))
    history = net.fit(x, y, epochs=20, batch_size=32, seed=0, verbose=0)
    assert history["loss"][-1] < history["loss"][0] / 4
    x_test, y_test = first_step_sign(rng, 256)
    assert net.evaluate(x_test, y_test)["accuracy"] > 0.9


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_network_keeps_its_dtype_end_to_end(dtype, rng):
    net = nnframe.Network([L("lstm", 4, return_sequences=True),
                           L("rnn", 3, return_sequences=True), L("gru", 2)],
                          dtype=dtype).use("mse", "adam")
    x = rng.standard_normal((6, 5, 3))
    net.fit(x, rng.standard_normal((6, 2)), epochs=1, batch_size=4, seed=0, verbose=0)
    assert {p.value.dtype for p in net.parameters()} == {np.dtype(dtype)}
    assert {p.grad.dtype for p in net.parameters()} == {np.dtype(dtype)}
    assert net.predict(x).dtype == np.dtype(dtype)


def test_model_files_round_trip(tmp_path, rng):
    x, y = first_step_sign(rng, 64)
    net = nnframe.Network([L("lstm", 6, return_sequences=True),
                           L("gru", 5, return_sequences=True), L("rnn", 3)])
    net.add(L("dense", output_size=2))
    net.use("cross_entropy", "adam").fit(x, y, epochs=2, batch_size=16, seed=1, verbose=0)
    path = net.save(tmp_path / "sequences.npz")
    loaded = nnframe.load(path)
    assert [layer.get_config() for layer in loaded.layers] == [
        layer.get_config() for layer in net.layers]
    np.testing.assert_array_equal(loaded.predict(x), net.predict(x))
    for mine, theirs in zip(net.parameters(), loaded.parameters(), strict=True):
        assert mine.key == theirs.key
        np.testing.assert_array_equal(mine.value, theirs.value)
    # training resumes from the file exactly as it would have gone on
    net.fit(x, y, epochs=3, batch_size=16, initial_epoch=2, verbose=0)
    loaded.fit(x, y, epochs=3, batch_size=16, initial_epoch=loaded.epoch, verbose=0)
    np.testing.assert_array_equal(loaded.predict(x), net.predict(x))


def test_a_model_file_names_the_distribution_to_install(tmp_path, monkeypatch):
    net = nnframe.Network([L("lstm", 3), L("dense", output_size=1)]).use("mse", "sgd")
    path = net.build((4, 2), seed=0).save(tmp_path / "lstm.npz")
    monkeypatch.setenv("NNFRAME_LOAD_PLUGINS", "")
    nnframe.core.registry.reset_registry()
    with pytest.raises(nnframe.MissingPluginError, match="nnframe-recurrent"):
        nnframe.load(path)


def test_summary_shows_shapes_and_parameter_counts():
    net = nnframe.Network([L("lstm", 128, return_sequences=True), L("gru", 32), L("rnn", 8)])
    net.add(L("dense", output_size=10))
    with pytest.raises(nnframe.ShapeError,
                       match=r"^layer 2 \(rnn from nnframe-recurrent\): rnn expects sequences.*"
                                                 r"after another recurrent layer, give that one "
                                                 r"return_sequences=True"):
        net.build((28, 28), seed=0)
    net = nnframe.Network([L("lstm", 128, return_sequences=True), L("gru", 32),
                           L("dense", output_size=10)]).build((28, 28), seed=0)
    assert [(r.key, r.name, r.output_shape, r.params) for r in summary_rows(net)] == [
        # G * units * (features + units) weights and G * units biases (gru: two)
        ("0", "lstm", (28, 128), 4 * 128 * (28 + 128) + 4 * 128),
        ("1", "gru", (32,), 3 * 32 * (128 + 32) + 2 * 3 * 32),
        ("2", "dense", (10,), 32 * 10 + 10),
    ]
    lines = []
    net.summary(print_fn=lines.append)
    assert "lstm" in lines[3] and "80,384" in lines[3]


def test_the_seq_mnist_config_is_valid():
    from nnframe.config import load_config

    config = load_config(EXAMPLE)
    assert config.data.sample_shape == (28, 28)
    network = config.build_network().build(config.data.sample_shape, seed=0)
    assert [(row.name, row.output_shape) for row in summary_rows(network)] == [
        ("lstm", (128,)), ("dense", (10,))]
    assert network.count_params() == 80_384 + 1_290  # PyTorch: 512 more, its second bias
    assert (config.train.batch_size, config.optimizer.name) == (128, "adam")


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
def test_nnframe_check_passes(name):
    result = subprocess.run([sys.executable, "-m", "nnframe", "check", name],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed, 0 failed" in result.stdout  # the layer and its ONNX converter


def test_a_config_feeding_images_to_an_lstm_suggests_the_reshape():
    from nnframe.config import ConfigFileError, parse_config

    raw = {"model": {"layers": [{"type": "lstm", "units": 8},
                                {"type": "dense", "output_size": 10}]},
           "loss": {"type": "cross_entropy"}, "optimizer": {"type": "adam"},
           "data": {"dataset": "mnist_sample"}, "train": {"epochs": 1}}
    with pytest.raises(ConfigFileError) as info:
        parse_config(raw)
    (problem,) = info.value.problems
    assert problem.endswith("from the data (mnist_sample): lstm expects sequences, a batch "
                            "shaped (N, time, features), so samples of shape (time, features); "
                            "got samples of shape (28, 28, 1); to read images row by row, make "
                            "each row a time step: reshape to (N, 28, 28), e.g. "
                            "x.reshape(len(x), 28, 28) (in a config: [data] reshape = [28, 28])")
    raw["data"]["reshape"] = [28, 28]
    assert parse_config(raw).data.sample_shape == (28, 28)
