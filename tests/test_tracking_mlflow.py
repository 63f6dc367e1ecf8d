"""The ``mlflow`` callback, read back with MLflow's own client from a SQLite store in a
temporary folder (no server): params, tags, metrics with their steps, the model artifact,
and a resumed run that continues the same MLflow run."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nnframe
from nnframe.callbacks import MLflowLogger
from nnframe.callbacks.mlflow_logger import mlflow_key, store_uri
from nnframe.errors import ConfigError, MissingExtraError

tracking = pytest.importorskip("mlflow.tracking")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One SQLite store for the module (creating its tables takes seconds)."""
    return tmp_path_factory.mktemp("mlflow") / "store"


def client(folder):
    return tracking.MlflowClient(tracking_uri=store_uri(str(folder)))


def data(rows=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 5)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(np.int64) + (x[:, 3] > 1)
    return x, y


def network():
    net = nnframe.Network([nnframe.layer("dense", output_size=8), nnframe.layer("tanh"),
                           nnframe.layer("dense", output_size=3)])
    return net.use("cross_entropy", nnframe.optimizer("adam", learning_rate=0.01))


def history_of(mlflow, run_id, key):
    return [(metric.step, metric.value)
            for metric in sorted(mlflow.get_metric_history(run_id, key), key=lambda m: m.step)]


def test_params_tags_metrics_and_the_model_read_back(store, tmp_path):
    x, y = data()
    net = network()
    logger = MLflowLogger(store, experiment="readback", run_name="first")
    history = net.fit(x, y, epochs=3, batch_size=16, seed=1, verbose=0,
                      validation_data=data(40, seed=2), callbacks=[logger])
    mlflow = client(store)
    run = mlflow.get_run(logger.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "first"
    assert mlflow.get_experiment(run.info.experiment_id).name == "readback"
    params = run.data.params
    assert params["model.layers.0.type"] == "dense"
    assert params["model.layers.2.output_size"] == "3"
    assert params["optimizer.type"] == "adam" and params["optimizer.learning_rate"] == "0.01"
    assert params["loss.type"] == "cross_entropy"
    assert params["train.batch_size"] == "16" and params["train.epochs"] == "3"
    assert run.data.tags["nnframe.version"] == nnframe.__version__
    assert run.data.tags["distribution.nnframe"] == nnframe.__version__
    for key, values in history.history.items():  # doubles: exactly the logged values
        assert history_of(mlflow, logger.run_id, key) == list(enumerate(values, start=1))
    assert history_of(mlflow, logger.run_id, "learning_rate") == [(1, 0.01), (2, 0.01),
                                                                  (3, 0.01)]
    [artifact] = mlflow.list_artifacts(logger.run_id, "model")
    assert artifact.path == "model/model.npz"
    local = mlflow.download_artifacts(logger.run_id, "model/model.npz", str(tmp_path))
    np.testing.assert_array_equal(nnframe.load(local).predict(x), net.predict(x))


def test_a_sqlite_uri_and_batch_losses(tmp_path):
    x, y = data()
    losses = []

    class Batches(nnframe.Callback):
        def on_batch_end(self, batch, logs):
            losses.append(logs["loss"])

    uri = f"sqlite:///{tmp_path / 'runs.db'}"
    logger = MLflowLogger(uri, experiment="batches", batch_every=3, log_model=False)
    network().fit(x, y, epochs=2, batch_size=16, seed=1, verbose=0,
                  callbacks=[Batches(), logger])
    mlflow = tracking.MlflowClient(tracking_uri=uri)
    assert history_of(mlflow, logger.run_id, "batch/loss") == [
        (step, losses[step - 1]) for step in (3, 6, 9, 12)]
    assert mlflow.list_artifacts(logger.run_id) == []


class StopAt(nnframe.Callback):
    """Stop inside epoch ``epoch`` after batch ``batch`` (as Ctrl-C in nnframe train)."""

    def __init__(self, epoch, batch):
        self.epoch, self.batch = epoch, batch

    def on_epoch_begin(self, epoch, logs):
        self.current = epoch

    def on_batch_end(self, batch, logs):
        if (self.current, batch) == (self.epoch, self.batch):
            self.network.stop_training = True


def test_a_resumed_run_continues_the_same_mlflow_run(store, tmp_path):
    x, y = data()
    whole = MLflowLogger(store, experiment="resume", log_model=False)
    history = network().fit(x, y, epochs=4, batch_size=16, seed=3, verbose=0,
                            callbacks=[whole])
    first = MLflowLogger(store, experiment="resume", log_model=False)
    part = network()
    part.fit(x, y, epochs=4, batch_size=16, seed=3, verbose=0, callbacks=[first, StopAt(1, 2)])
    mlflow = client(store)
    assert mlflow.get_run(first.run_id).info.status == "KILLED"  # to be resumed
    part.save(tmp_path / "part.npz")
    resumed = nnframe.load(tmp_path / "part.npz")
    second = MLflowLogger(store, experiment="resume")
    resumed.fit(x, y, epochs=4, batch_size=16, verbose=0, initial_epoch=resumed.epoch,
                callbacks=[second])
    assert second.run_id == first.run_id
    run = mlflow.get_run(first.run_id)
    assert run.info.status == "FINISHED"
    assert history_of(mlflow, first.run_id, "loss") == list(enumerate(history["loss"], 1))
    experiment = mlflow.get_experiment_by_name("resume").experiment_id
    assert len(mlflow.search_runs([experiment])) == 2  # the whole run, and the resumed one


def test_nnframe_train_from_toml_and_resume(tmp_path):
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
        callbacks = [{ type = "mlflow", tracking_uri = "mlruns", experiment = "xor" }]
    """))

    def train(*options):
        result = subprocess.run([sys.executable, "-m", "nnframe", "train", str(config), "-q",
                                 *options], capture_output=True, text=True, cwd=tmp_path,
                                timeout=300)
        assert result.returncode == 0, result.stderr

    train("--epochs", "2", "-o", "half.npz")
    train("--resume", "half.npz", "-o", "whole.npz")
    mlflow = client(tmp_path / "mlruns")
    [run] = mlflow.search_runs([mlflow.get_experiment_by_name("xor").experiment_id])
    assert [step for step, _ in history_of(mlflow, run.info.run_id, "loss")] == [1, 2, 3, 4,
                                                                                 5, 6]
    assert run.data.params["train.epochs"] == "2"  # the settings the run started with
    assert (tmp_path / "mlruns" / "mlflow.db").is_file()


def test_names_and_bad_arguments():
    assert mlflow_key("model.layers[1].layers[0].output_size") == (
        "model.layers.1.layers.0.output_size")
    assert store_uri("sqlite:///x.db") == "sqlite:///x.db"
    assert store_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert store_uri("runs").startswith("sqlite:///") and store_uri("runs").endswith(
        "/runs/mlflow.db")
    with pytest.raises(ConfigError, match="MLflowLogger: experiment"):
        MLflowLogger(experiment="")
    with pytest.raises(ConfigError, match="MLflowLogger: batch_every"):
        MLflowLogger(batch_every=-1)


def test_without_the_extra_the_error_names_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    x, y = data()
    with pytest.raises(MissingExtraError, match=r"pip install 'nnframe\[mlflow\]'"):
        network().fit(x, y, epochs=1, verbose=0, callbacks=[MLflowLogger(tmp_path / "m")])
    assert not list(tmp_path.iterdir())
