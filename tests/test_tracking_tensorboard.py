"""The ``tensorboard`` callback: what a run logs, read back with TensorBoard's own reader,
across a run stopped inside an epoch and resumed, from a TOML config, and its extra."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nnframe
from nnframe.callbacks import TensorBoard
from nnframe.errors import ConfigError, MissingExtraError

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def read(log_dir):
    """Every scalar and histogram tag of a run folder, as TensorBoard reads it."""
    accumulator = event_accumulator.EventAccumulator(
        str(log_dir), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator


def scalars(accumulator, tag):
    return [(event.step, event.value) for event in accumulator.Scalars(tag)]


def data(rows=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 5)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(np.int64) + (x[:, 3] > 1)
    return x, y


def network():
    net = nnframe.Network([nnframe.layer("dense", output_size=8), nnframe.layer("tanh"),
                           nnframe.layer("dense", output_size=3)])
    return net.use("cross_entropy", nnframe.optimizer("adam", learning_rate=0.01))


def test_every_logged_value_reads_back_at_its_epoch(tmp_path):
    x, y = data()
    history = network().fit(x, y, epochs=4, batch_size=16, seed=1, verbose=0,
                             validation_data=data(40, seed=2),
                             callbacks=[TensorBoard(tmp_path / "run")])
    run = read(tmp_path / "run")
    assert set(run.Tags()["scalars"]) == {"loss", "accuracy", "val_loss", "val_accuracy",
                                          "learning_rate"}
    for key, values in history.history.items():
        # event files hold 32-bit floats: exactly the logged values, rounded to float32
        assert scalars(run, key) == [(step, float(np.float32(value)))
                                     for step, value in enumerate(values, start=1)]
    assert scalars(run, "learning_rate") == [(step, float(np.float32(0.01)))
                                             for step in range(1, 5)]
    assert run.Tags()["histograms"] == []


def test_batch_losses_and_histograms_on_request(tmp_path):
    x, y = data()
    losses, weights_at = [], {}

    class Batches(nnframe.Callback):
        def on_batch_end(self, batch, logs):
            losses.append(logs["loss"])

        def on_epoch_end(self, epoch, logs):
            weights_at[epoch + 1] = self.network.layers[0].params["weights"].copy()

    net = network()
    net.fit(x, y, epochs=3, batch_size=16, seed=1, verbose=0,
            callbacks=[Batches(), TensorBoard(tmp_path, batch_every=2, histograms=2)])
    run = read(tmp_path)
    # 6 batches per epoch: the 2nd, 4th and 6th of each, at the count of batches trained
    assert scalars(run, "batch/loss") == [(step, float(np.float32(losses[step - 1])))
                                          for step in range(2, 19, 2)]
    tags = set(run.Tags()["histograms"])
    assert tags == {f"{prefix}/{p.key}" for p in net.parameters()
                    for prefix in ("weights", "gradients")}
    weights = run.Histograms("weights/0.weights")
    assert [event.step for event in weights] == [2]  # every 2nd epoch of 3
    histogram = weights[0].histogram_value
    assert histogram.num == 5 * 8
    assert histogram.min == float(weights_at[2].min())
    assert histogram.max == float(weights_at[2].max())
    assert histogram.sum == pytest.approx(float(weights_at[2].sum()), abs=1e-5)


def test_the_run_settings_go_to_the_hparams_view(tmp_path):
    plugin_data = pytest.importorskip("tensorboard.plugins.hparams.plugin_data_pb2")
    x, y = data()
    network().fit(x, y, epochs=1, batch_size=32, seed=1, verbose=0,
                  validation_data=data(20, seed=2), callbacks=[TensorBoard(tmp_path)])
    content = read(tmp_path).PluginTagToContent("hparams")
    start = plugin_data.HParamsPluginData.FromString(
        content["_hparams_/session_start_info"]).session_start_info
    settings = {key: value.WhichOneof("kind") and getattr(value, value.WhichOneof("kind"))
                for key, value in start.hparams.items()}
    assert settings["model.layers[0].type"] == "dense"
    assert settings["model.layers[2].output_size"] == 3.0
    assert settings["optimizer.type"] == "adam"
    assert settings["optimizer.learning_rate"] == 0.01
    assert settings["train.batch_size"] == 32.0
    assert settings["train.epochs"] == 1.0
    experiment = plugin_data.HParamsPluginData.FromString(
        content["_hparams_/experiment"]).experiment
    assert {m.name.tag for m in experiment.metric_infos} == {
        "loss", "accuracy", "val_loss", "val_accuracy"}


class StopAt(nnframe.Callback):
    """Stop inside epoch ``epoch`` after batch ``batch`` (as Ctrl-C in nnframe train)."""

    def __init__(self, epoch, batch):
        self.epoch, self.batch = epoch, batch

    def on_epoch_begin(self, epoch, logs):
        self.current = epoch

    def on_batch_end(self, batch, logs):
        if (self.current, batch) == (self.epoch, self.batch):
            self.network.stop_training = True


def test_a_resumed_run_continues_the_steps_with_no_gap_or_repeat(tmp_path):
    x, y = data()
    validation = data(40, seed=2)
    whole = network()
    whole.fit(x, y, epochs=5, batch_size=16, seed=3, verbose=0, validation_data=validation,
              callbacks=[TensorBoard(tmp_path / "whole", batch_every=1)])
    part = network()
    part.fit(x, y, epochs=5, batch_size=16, seed=3, verbose=0, validation_data=validation,
             callbacks=[TensorBoard(tmp_path / "part", batch_every=1), StopAt(2, 3)])
    assert part.resume_point is not None
    part.save(tmp_path / "part.npz")
    resumed = nnframe.load(tmp_path / "part.npz")
    resumed.fit(x, y, epochs=5, batch_size=16, verbose=0, validation_data=validation,
                initial_epoch=resumed.epoch,
                callbacks=[TensorBoard(tmp_path / "part", batch_every=1)])
    assert len(list((tmp_path / "part").glob("events.out.tfevents.*"))) == 2
    run, reference = read(tmp_path / "part"), read(tmp_path / "whole")
    assert set(run.Tags()["scalars"]) == set(reference.Tags()["scalars"])
    for tag in reference.Tags()["scalars"]:
        steps = [step for step, _ in sorted(scalars(run, tag))]
        assert steps == [step for step, _ in scalars(reference, tag)], tag
        if tag != "accuracy":  # the training accuracy of the resumed epoch counts only
            # the batches after the resume point; everything else is the uninterrupted
            # run's, bit for bit
            assert sorted(scalars(run, tag)) == scalars(reference, tag), tag
    assert [step for step, _ in sorted(scalars(run, "batch/loss"))] == list(range(1, 31))


def test_from_a_toml_config(tmp_path):
    config = tmp_path / "xor.toml"
    config.write_text(textwrap.dedent("""
        [model]
        layers = [{ type = "dense", output_size = 3 }, { type = "tanh" },
                  { type = "dense", output_size = 1 }, { type = "tanh" }]
        [loss]
        type = "mse"
        [optimizer]
        type = "sgd"
        learning_rate = 0.1
        [data]
        dataset = "xor"
        [train]
        epochs = 6
        batch_size = 4
        seed = 0
        callbacks = [{ type = "tensorboard", log_dir = "runs/xor" }]
    """))
    result = subprocess.run([sys.executable, "-m", "nnframe", "train", str(config), "-q"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    run = read(tmp_path / "runs" / "xor")
    assert [step for step, _ in scalars(run, "loss")] == list(range(1, 7))


def test_bad_arguments_are_refused_by_name():
    with pytest.raises(ConfigError, match="TensorBoard: histograms must be an integer >= 0"):
        TensorBoard("runs", histograms=-1)
    with pytest.raises(ConfigError, match="TensorBoard: batch_every"):
        TensorBoard("runs", batch_every=1.5)


def test_without_the_extra_the_error_names_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    x, y = data()
    with pytest.raises(MissingExtraError, match=r"pip install 'nnframe\[tensorboard\]'"):
        network().fit(x, y, epochs=1, verbose=0, callbacks=[TensorBoard(tmp_path)])
    assert not list(tmp_path.iterdir())
