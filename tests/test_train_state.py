"""`TrainState`: the run's position lives in one typed, frozen record, which model files keep."""

from __future__ import annotations

import attrs
import numpy as np
import pytest

import nnframe
from nnframe.core.training import TrainState


def data(n: int = 256):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64)


def network() -> nnframe.Network:
    return nnframe.Network([nnframe.layer("dense", 4, 8), nnframe.layer("tanh"),
                            nnframe.layer("dense", 8, 2)]).use("cross_entropy", "adam")


class StopAt(nnframe.Callback):
    """Stop after batch ``batch`` of the run's epoch ``epoch`` (counted from the run's)."""

    def __init__(self, epoch: int, batch: int) -> None:
        self.epoch, self.batch, self.current = epoch, batch, None

    def on_epoch_begin(self, epoch, logs):
        self.current = epoch

    def on_batch_end(self, batch, logs):
        if self.current == self.epoch and batch == self.batch:
            self.network.stop_training = True


def test_the_state_is_frozen_and_replaced_as_training_goes():
    x, y = data()
    net = network()
    assert net.train_state == TrainState()
    net.fit(x, y, epochs=2, batch_size=32, seed=1, verbose=0)
    state = net.train_state
    assert (state.epoch, state.batch, state.inside_epoch) == (2, 0, False)
    assert net.epoch == 2 and net.resume_point is None
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        state.epoch = 3


def test_a_stop_inside_an_epoch_records_the_position_and_its_sums():
    x, y = data()
    net = network()
    net.fit(x, y, epochs=3, batch_size=32, seed=1, verbose=0, callbacks=[StopAt(1, 2)])
    state = net.train_state
    assert (state.epoch, state.batch, state.seen) == (1, 3, 96)
    assert state.epoch_rng is not None and state.loss_sum > 0
    assert net.resume_point == {"epoch": 1, "batch": 3, "epoch_rng": state.epoch_rng,
                                "loss_sum": state.loss_sum, "seen": 96}


@pytest.mark.parametrize("initial", ["zero", "continue"])
def test_fit_after_fit_stopped_by_a_callback_saves_a_file_that_loads_and_resumes(
        tmp_path, initial):
    """A trained network fitted again and stopped from a callback: its file loads, and
    resuming from it gives the weights of the second run uninterrupted, bit for bit."""
    x, y = data()

    def second_run(callbacks):
        net = network()
        net.fit(x, y, epochs=4, batch_size=32, seed=1, verbose=0)
        start = 0 if initial == "zero" else net.epoch
        net.fit(x, y, epochs=start + 3, batch_size=32, initial_epoch=start, verbose=0,
                callbacks=callbacks)
        return net, start

    whole, start = second_run([])
    stopped, _ = second_run([StopAt(start + 1, 4)])
    assert stopped.epoch == start + 1 and stopped.train_state.batch == 5
    stopped.save(tmp_path / "stopped.npz")
    loaded = nnframe.load(tmp_path / "stopped.npz")
    assert loaded.train_state == stopped.train_state
    loaded.fit(x, y, epochs=start + 3, batch_size=32, initial_epoch=loaded.epoch, verbose=0)
    for a, b in zip(loaded.parameters(), whole.parameters(), strict=True):
        np.testing.assert_array_equal(a.value, b.value)


def test_notes_and_schedule_state_round_trip_through_a_model_file(tmp_path):
    x, y = data()
    net = network()
    net.fit(x, y, epochs=2, batch_size=32, seed=1, verbose=0, validation_split=0.25,
            schedule="reduce_on_plateau")
    net.train_state = net.train_state.note("data_seed", 7)
    net.save(tmp_path / "m.npz")
    loaded = nnframe.load(tmp_path / "m.npz")
    assert loaded.train_state.notes == {"data_seed": 7}
    assert loaded.train_state.base_learning_rate == net.train_state.base_learning_rate
    assert loaded.train_state.schedule == net.train_state.schedule is not None


def test_a_seed_given_to_fit_on_a_built_network_starts_a_new_stream():
    x, y = data()
    net = network()
    net.fit(x, y, epochs=2, batch_size=32, seed=1, verbose=0, callbacks=[StopAt(1, 2)])
    assert net.train_state.inside_epoch
    net.fit(x, y, epochs=0, batch_size=32, seed=5, verbose=0, initial_epoch=0)
    assert not net.train_state.inside_epoch
