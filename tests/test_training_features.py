"""Learning-rate schedules, gradient clipping, the CSV logger, and resuming exactly."""

from __future__ import annotations

import csv
import math
from itertools import pairwise

import numpy as np
import pytest

import nnframe


def data(samples=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples, 4)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64)


def network(dropout=False, **optimizer):
    layers = [nnframe.layer("dense", 4, 8), nnframe.layer("relu")]
    if dropout:
        layers.append(nnframe.layer("dropout", rate=0.3))
    layers.append(nnframe.layer("dense", 8, 2))
    config = optimizer or {"learning_rate": 0.05, "momentum": 0.9}
    return nnframe.Network(layers).use("cross_entropy", nnframe.optimizer("sgd", **config))


class RateSpy(nnframe.Callback):
    def __init__(self):
        self.rates = []

    def on_batch_end(self, batch, logs):
        self.rates.append(self.network.optimizer.learning_rate)


def rates_of(schedule, epochs=4, batch_size=16, samples=48, **optimizer):
    x, y = data(samples)
    spy = RateSpy()
    network(**optimizer).fit(x, y, epochs=epochs, batch_size=batch_size, seed=0, verbose=0,
                             schedule=schedule, callbacks=[spy])
    return spy.rates


def test_step_and_exponential_decay_per_epoch():
    rates = rates_of(nnframe.schedule("step", step_size=2, gamma=0.5), learning_rate=0.1)
    assert rates == pytest.approx([0.1] * 6 + [0.05] * 6)
    rates = rates_of(nnframe.schedule("exponential", gamma=0.5), learning_rate=0.1)
    assert rates == pytest.approx([0.1 * 0.5 ** (i // 3) for i in range(12)])


def test_cosine_with_warmup():
    rates = rates_of("cosine", learning_rate=0.1)
    assert rates[0] == pytest.approx(0.1) and rates[-1] == pytest.approx(0.0)
    assert all(a >= b for a, b in pairwise(rates))
    warm = rates_of(nnframe.schedule("cosine", warmup_epochs=1), learning_rate=0.1)
    assert warm[:3] == pytest.approx([0.1 / 3, 0.2 / 3, 0.1])
    assert warm[3] == pytest.approx(0.1) and warm[-1] == pytest.approx(0.0)
    middle = 3 + (11 - 3) / 2  # halfway through the decay
    assert warm[int(middle)] == pytest.approx(0.05 * (1 + math.cos(math.pi * 0.5)))


def test_reduce_on_plateau_and_its_state_across_a_resume(tmp_path):
    x, y = data()
    schedule = nnframe.schedule("reduce_on_plateau", monitor="loss", patience=0, factor=0.5,
                                min_delta=10.0)  # nothing counts as an improvement
    net = network(learning_rate=0.1)
    spy = RateSpy()
    net.fit(x, y, epochs=3, batch_size=48, seed=0, verbose=0, schedule=schedule,
            callbacks=[spy])
    # the first epoch sets the best value; each later one fails to improve on it
    assert spy.rates == pytest.approx([0.1, 0.1, 0.05])
    loaded = nnframe.load(net.save(tmp_path / "m.npz"))
    spy = RateSpy()
    again = nnframe.schedule("reduce_on_plateau", monitor="loss", patience=0, factor=0.5,
                             min_delta=10.0)
    loaded.fit(x, y, epochs=4, batch_size=48, verbose=0, initial_epoch=loaded.epoch,
               schedule=again, callbacks=[spy])
    assert spy.rates == pytest.approx([0.025])  # the base rate and the reductions kept


def test_clip_norm_bounds_the_global_gradient_norm():
    x, y = data()
    norms = []

    class Norms(nnframe.Callback):
        def on_batch_end(self, batch, logs):
            grads = self.network.parameters().grads
            norms.append(float(np.sqrt(np.vdot(grads, grads))))

    network().fit(x * 100, y, epochs=1, batch_size=16, seed=0, verbose=0, clip_norm=0.5,
                  callbacks=[Norms()])
    assert max(norms) <= 0.5 + 1e-5
    with pytest.raises(nnframe.ConfigError, match="clip_norm"):
        network().fit(x, y, clip_norm=0.0, verbose=0)


def test_csv_logger_writes_a_row_per_epoch_and_appends(tmp_path):
    x, y = data()
    path = tmp_path / "log.csv"
    net = network()
    net.fit(x, y, epochs=2, seed=0, verbose=0, validation_split=0.25,
            callbacks=[nnframe.callback("csv_logger", path=str(path))])
    rows = list(csv.DictReader(path.open()))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert set(rows[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}
    net.fit(x, y, epochs=3, initial_epoch=2, verbose=0, validation_split=0.25,
            callbacks=[nnframe.CSVLogger(path, append=True)])
    assert [row["epoch"] for row in csv.DictReader(path.open())] == ["1", "2", "3"]


class StopAt(nnframe.Callback):
    """Stops training after a given batch of a given epoch, as Ctrl-C does."""

    def __init__(self, epoch, batch):
        self.at = (epoch, batch)
        self.epoch = None

    def on_epoch_begin(self, epoch, logs):
        self.epoch = epoch

    def on_batch_end(self, batch, logs):
        if (self.epoch, batch) == self.at:
            self.network.stop_training = True


@pytest.mark.parametrize(("epoch", "batch"), [(0, 0), (1, 1), (2, 2)])
def test_stopping_inside_an_epoch_then_resuming_is_the_uninterrupted_run(tmp_path, epoch,
                                                                         batch):
    x, y = data(60)
    fit = {"batch_size": 16, "verbose": 0, "schedule": "cosine"}
    whole = network(dropout=True).use("cross_entropy", "adam")
    whole.fit(x, y, epochs=4, seed=3, **fit)

    stopped = network(dropout=True)
    stopped.use("cross_entropy", "adam")
    stopped.fit(x, y, epochs=4, seed=3, callbacks=[StopAt(epoch, batch)], **fit)
    assert stopped.epoch == epoch and stopped.resume_point["batch"] == batch + 1
    resumed = nnframe.load(stopped.save(tmp_path / "stopped.npz"))
    resumed.fit(x, y, epochs=4, initial_epoch=resumed.epoch, **fit)
    for a, b in zip(whole.parameters(), resumed.parameters(), strict=True):
        # Exact: the same batches, shapes, operations and order as the straight run
        np.testing.assert_array_equal(a.value, b.value, err_msg=a.key)
    assert resumed.epoch == 4 and resumed.resume_point is None


def test_a_checkpoint_directory_that_cannot_be_made_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    x, y = data()
    checkpoint = nnframe.ModelCheckpoint(blocker / "sub" / "ckpt-{epoch}.npz")
    net = network()
    with pytest.raises(nnframe.NNFrameError, match=r"ModelCheckpoint's path .*ckpt-1.npz: "
                       r".*file is not a directory"):  # found before training, not after
        net.fit(x, y, epochs=1, verbose=0, callbacks=[checkpoint])
    assert net.epoch == 0


@pytest.mark.parametrize("component", ["schedule", "callback"])
def test_a_monitored_value_no_epoch_logs_fails_before_training(component):
    """val_loss without validation data is found before the first batch, not after an epoch."""
    x, y = data()
    net = network()
    spy = RateSpy()
    extra = ({"schedule": nnframe.schedule("reduce_on_plateau")} if component == "schedule"
             else {"callbacks": [spy, nnframe.callback("early_stopping", monitor="val_accuracy")]})
    callbacks = extra.pop("callbacks", [spy])
    with pytest.raises(nnframe.ConfigError,
                       match=r"monitors 'val_(loss|accuracy)' but training reports only "
                             r"accuracy, loss; pass validation data"):
        net.fit(x, y, epochs=2, batch_size=16, seed=0, verbose=0,
                callbacks=callbacks, **extra)
    assert spy.rates == []
    # with validation data the same components train
    net.fit(x, y, epochs=1, batch_size=16, seed=0, verbose=0, validation_split=0.25,
            callbacks=[nnframe.callback("early_stopping", monitor="val_loss")],
            schedule=nnframe.schedule("reduce_on_plateau"))
