"""Training features: validation, metrics, callbacks, early stopping and the progress display."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe
from nnframe.callbacks import Callback, ProgressDisplay
from nnframe.metrics import class_reader


def blobs(n=200, seed=0):
    """Three well separated Gaussian blobs in 2-D with integer labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=n)
    centres = np.array([[0, 3], [3, -2], [-3, -2]], dtype=np.float32)
    x = centres[labels] + rng.standard_normal((n, 2)).astype(np.float32) * 0.5
    return x, labels


def classifier():
    return nnframe.Network([nnframe.layer("dense", 2, 16), nnframe.layer("relu"),
                            nnframe.layer("dense", 16, 3)]).use("cross_entropy", "adam")


def test_classification_reports_accuracy_and_learns():
    x, y = blobs()
    net = classifier()
    history = net.fit(x, y, epochs=30, batch_size=16, seed=0, verbose=0)
    assert history["accuracy"][-1] > 0.95
    scores = net.evaluate(x, y)
    assert set(scores) == {"loss", "accuracy"} and scores["accuracy"] > 0.95


def test_one_hot_targets_report_accuracy_too():
    x, y = blobs()
    scores = classifier().build((2,), seed=0).evaluate(x, nnframe.one_hot(y, 3))
    assert "accuracy" in scores


def test_regression_reports_loss_only():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 3)).astype(np.float32)
    net = nnframe.Network([nnframe.layer("dense", 3, 1)]).use("mse", "sgd")
    history = net.fit(x, x.sum(axis=1, keepdims=True), epochs=2, verbose=0)
    assert set(history.history) == {"loss"}


@pytest.mark.parametrize(
    ("y", "output", "logits", "threshold"),
    [(np.array([0, 2, 1]), (3,), False, None),
     (np.eye(3)[[0, 2, 1]], (3,), False, None),
     (np.array([[0.0], [1.0], [1.0]]), (1,), False, 0.5),
     (np.array([[0.0], [1.0], [1.0]]), (1,), True, 0.0),
     (np.array([[-1.0], [1.0], [1.0]]), (1,), False, 0.0)],
)
def test_which_targets_are_classification(y, output, logits, threshold):
    targets = class_reader(y, output, logits)
    assert targets is not None and targets.threshold == threshold


def test_real_valued_targets_are_not_classification():
    assert class_reader(np.array([[0.3], [1.7]]), (1,)) is None
    assert class_reader(np.random.default_rng(0).random((4, 3)), (3,)) is None


def test_validation_data_adds_val_metrics():
    x, y = blobs()
    history = classifier().fit(x[:150], y[:150], epochs=2, seed=0, verbose=0,
                               validation_data=(x[150:], y[150:]))
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_validation_split_holds_out_the_last_samples():
    x, y = blobs()
    seen = []

    class Spy(Callback):
        def on_train_begin(self, logs):
            seen.append(logs["samples"])

    history = classifier().fit(x, y, epochs=1, validation_split=0.25, callbacks=[Spy()],
                               seed=0, verbose=0)
    assert seen == [150] and "val_loss" in history.history


def test_bad_validation_data_is_refused_before_training():
    x, y = blobs()
    with pytest.raises(nnframe.DataError, match="x_val has 10 samples but y_val has 9"):
        classifier().fit(x, y, validation_data=(x[:10], y[:9]), verbose=0)
    with pytest.raises(nnframe.ConfigError, match="validation_split"):
        classifier().fit(x, y, validation_split=1.5, verbose=0)


def test_callback_hooks_are_called_in_order():
    calls = []

    class Recorder(Callback):
        def on_train_begin(self, logs):
            calls.append("train_begin")

        def on_epoch_begin(self, epoch, logs):
            calls.append(f"epoch_begin {epoch}")

        def on_batch_end(self, batch, logs):
            calls.append(f"batch {batch}")

        def on_epoch_end(self, epoch, logs):
            calls.append(f"epoch_end {epoch}")

        def on_train_end(self, logs):
            calls.append("train_end")

    x, y = blobs(8)
    classifier().fit(x, y, epochs=2, batch_size=4, callbacks=[Recorder()], verbose=0)
    assert calls == ["train_begin", "epoch_begin 0", "batch 0", "batch 1", "epoch_end 0",
                     "epoch_begin 1", "batch 0", "batch 1", "epoch_end 1", "train_end"]


def test_early_stopping_stops_and_restores_the_best_weights():
    x, y = blobs()
    snapshots = {}

    class Snapshot(Callback):
        def on_epoch_end(self, epoch, logs):
            snapshots[epoch] = [p.value.copy() for p in self.network.parameters()]

    # a learning rate so high that the validation loss gets worse after the first epochs
    net = nnframe.Network([nnframe.layer("dense", 2, 16), nnframe.layer("relu"),
                           nnframe.layer("dense", 16, 3)])
    net.use("cross_entropy", nnframe.optimizer("sgd", learning_rate=0.05))
    stopper = nnframe.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    rng = np.random.default_rng(5)
    noisy = rng.integers(0, 3, size=50)  # validation labels the model cannot learn
    history = net.fit(x, y, epochs=200, batch_size=8, seed=0, verbose=0,
                      validation_data=(x[:50], noisy), callbacks=[Snapshot(), stopper])
    epochs_run = len(history.epoch)
    assert epochs_run < 200
    assert stopper.stopped_epoch == epochs_run - 1
    assert epochs_run - 1 - stopper.best_epoch == 3  # patience 2: stops on the third miss
    best = int(np.argmin(history["val_loss"]))
    assert best == stopper.best_epoch
    for restored, saved in zip(net.parameters(), snapshots[best], strict=True):
        np.testing.assert_array_equal(restored.value, saved)


def test_early_stopping_on_a_missing_metric_says_what_to_do():
    x, y = blobs()
    with pytest.raises(nnframe.ConfigError, match="pass validation data"):
        classifier().fit(x, y, epochs=2, verbose=0, callbacks=[nnframe.EarlyStopping()])


def test_progress_display_by_verbosity(monkeypatch):
    assert ProgressDisplay.for_verbosity(0) is None
    assert ProgressDisplay.for_verbosity(2).console is None  # plain lines
    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    assert ProgressDisplay.for_verbosity(1).console is None
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert ProgressDisplay.for_verbosity(1).console is not None  # a bar


def test_progress_bar_draws_batches_and_prints_the_epoch_line():
    from rich.console import Console

    console = Console(record=True, force_terminal=True, width=120)
    x, y = blobs(64)
    classifier().fit(x, y, epochs=2, batch_size=16, seed=0, verbose=0,
                     callbacks=[ProgressDisplay(console=console)])
    text = console.export_text()
    assert "epoch 1/2" in text and "epoch 2/2" in text and "accuracy:" in text
