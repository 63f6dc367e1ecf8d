"""The Network: training, determinism, dtypes, and bad input caught before training."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe
from nnframe.datasets import xor


def xor_network(dtype: str = "float32") -> nnframe.Network:
    return nnframe.Network(
        [nnframe.layer("dense", 2, 3), nnframe.layer("tanh"),
         nnframe.layer("dense", 3, 1), nnframe.layer("tanh")],
        dtype=dtype,
    ).use("mse")


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_xor_converges_from_several_seeds(seed):
    x, y = xor()
    net = xor_network()
    history = net.fit(x, y, epochs=1000, batch_size=1, learning_rate=0.1, seed=seed, verbose=0)
    assert history["loss"][-1] < 0.01
    assert history["loss"][-1] < history["loss"][0]
    assert np.array_equal(net.predict(x) > 0.5, y > 0.5)
    assert net.evaluate(x, y)["accuracy"] == 1.0


def test_same_seed_gives_bit_identical_weights():
    x, y = xor()
    runs = []
    for _ in range(2):
        net = xor_network()
        net.fit(x, y, epochs=50, batch_size=2, learning_rate=0.1, seed=7, verbose=0)
        runs.append([p.value.copy() for p in net.parameters()])
    # Exact: one process, the same seed, the same shapes, the same operations in the same
    # order and the same BLAS threads; nothing depends on timing.
    for first, second in zip(*runs, strict=True):
        assert np.array_equal(first, second)
    other = xor_network()
    other.fit(x, y, epochs=50, batch_size=2, learning_rate=0.1, seed=8, verbose=0)
    assert not np.array_equal(runs[0][0], other.parameters()[0].value)


def test_float32_by_default_without_promotion():
    x, y = xor("float64")
    net = xor_network()
    net.fit(x, y, epochs=3, batch_size=2, learning_rate=0.1, seed=0, verbose=0)
    for parameter in net.parameters():
        assert parameter.value.dtype == np.float32
        assert parameter.grad.dtype == np.float32
    assert net.predict(x).dtype == np.float32


def test_float64_end_to_end():
    x, y = xor("float32")
    net = xor_network("float64")
    net.use("mse", nnframe.optimizer("sgd", learning_rate=0.1, momentum=0.9))
    net.fit(x, y, epochs=3, batch_size=2, seed=0, verbose=0)
    for parameter in net.parameters():
        assert parameter.value.dtype == np.float64
        assert parameter.grad.dtype == np.float64
    for slots in net.optimizer.state.values():
        assert all(a.dtype == np.float64 for a in slots.values())
    assert net.predict(x).dtype == np.float64


def test_fit_does_not_rebuild_a_built_network():
    x, y = xor()
    net = xor_network().build((2,), seed=0)
    net.parameters()[0].value[...] = 0.25
    net.fit(x, y, epochs=1, batch_size=4, learning_rate=0.0, verbose=0)
    assert np.all(net.parameters()[0].value == 0.25)


def test_learning_rate_shorthand_means_sgd_and_sets_an_optimizer_rate():
    x, y = xor()
    net = xor_network()
    net.fit(x, y, epochs=1, learning_rate=0.3, verbose=0)
    assert type(net.optimizer).__name__ == "SGD" and net.optimizer.learning_rate == 0.3
    net.fit(x, y, epochs=1, learning_rate=0.05, verbose=0)
    assert net.optimizer.learning_rate == 0.05


def test_minibatch_step_equals_mean_of_per_sample_gradients():
    """A batch gradient is the mean of the per-sample ones (mse divides by the batch)."""
    x, y = xor("float64")
    net = xor_network("float64").build((2,), seed=1)
    net.loss.forward(y, net.forward(x, training=True))
    net.backward(net.loss.backward())
    batch = [p.grad.copy() for p in net.parameters()]
    singles = []
    for i in range(4):
        net.loss.forward(y[i:i + 1], net.forward(x[i:i + 1], training=True))
        net.backward(net.loss.backward())
        singles.append([p.grad.copy() for p in net.parameters()])
    for k, grad in enumerate(batch):
        np.testing.assert_allclose(grad, np.mean([s[k] for s in singles], axis=0), atol=1e-12)


def test_verbose_prints_one_line_per_epoch(capsys):
    x, y = xor()
    xor_network().fit(x, y, epochs=3, learning_rate=0.1, seed=0, verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("epoch 1/3") and "loss:" in lines[0]


def test_silent_when_verbose_is_zero(capsys):
    x, y = xor()
    xor_network().fit(x, y, epochs=2, learning_rate=0.1, verbose=0)
    assert capsys.readouterr().out == ""


def test_predict_in_chunks_equals_predict_at_once(rng):
    net = xor_network().build((2,), seed=0)
    x = rng.standard_normal((50, 2))
    np.testing.assert_allclose(net.predict(x, batch_size=7), net.predict(x), rtol=1e-5)


def test_summary_lists_layers_shapes_and_counts():
    lines = []
    xor_network().build((2,), seed=0).summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "dense" in text and "(None, 3)" in text and "Total params: 13" in text


# -- bad input, checked before training --------------------------------------------------


def test_x_and_y_of_different_lengths():
    x, y = xor()
    with pytest.raises(nnframe.DataError, match="x has 4 samples but y has 3"):
        xor_network().fit(x, y[:3], learning_rate=0.1, verbose=0)


def test_first_layer_that_does_not_match_the_data():
    net = nnframe.Network([nnframe.layer("dense", 784, 10)]).use("mse")
    with pytest.raises(nnframe.ShapeError) as info:
        net.fit(np.zeros((4, 100)), np.zeros((4, 10)), learning_rate=0.1, verbose=0)
    message = str(info.value)
    assert "layer 0 (dense)" in message and "784" in message and "100" in message


def test_data_that_does_not_match_a_built_network():
    net = xor_network().build((2,), seed=0)
    with pytest.raises(nnframe.ShapeError, match=r"layer 0 \(dense\).*\(2,\).*\(3,\)"):
        net.fit(np.zeros((4, 3)), np.zeros((4, 1)), learning_rate=0.1, verbose=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_the_data(bad):
    x, y = xor()
    x[2, 1] = bad
    with pytest.raises(nnframe.DataError, match=r"NaN or infinite.*\(2, 1\)"):
        xor_network().fit(x, y, learning_rate=0.1, verbose=0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_found_in_contiguous_and_strided_data(dtype, bad):
    x = np.zeros((50, 6), dtype)
    x[31, 4] = bad
    for data in (x, np.asfortranarray(x)):
        with pytest.raises(nnframe.DataError, match=r"1 NaN or infinite.*\(31, 4\)"):
            nnframe.Network([nnframe.layer("dense", 6, 1)]).build((6,)).predict(data)


def test_huge_finite_data_is_accepted():
    """Squares that overflow are not mistaken for infinities."""
    x = np.full((4, 2), 1e30, np.float32)
    assert nnframe.Network([nnframe.layer("dense", 2, 1)]).build((2,)).predict(x).shape == (4, 1)


def test_non_numeric_arrays():
    with pytest.raises(nnframe.DataError, match="not numbers"):
        xor_network().fit(np.array([["a", "b"]] * 4), xor()[1], learning_rate=0.1, verbose=0)


def test_fit_before_use():
    net = nnframe.Network([nnframe.layer("dense", 2, 1)])
    with pytest.raises(nnframe.NetworkStateError, match="use"):
        net.fit(*xor(), learning_rate=0.1, verbose=0)


def test_targets_that_do_not_match_the_output():
    net = nnframe.Network([nnframe.layer("dense", 2, 10)]).use("mse")
    with pytest.raises(nnframe.DataError, match="one-hot"):
        net.fit(np.zeros((4, 2)), np.arange(4), learning_rate=0.1, verbose=0)


def test_errors_are_value_errors_for_code_that_does_not_know_nnframe():
    x, y = xor()
    with pytest.raises(ValueError):
        xor_network().fit(x, y[:3], learning_rate=0.1, verbose=0)


def test_nan_loss_stops_with_epoch_and_batch_and_keeps_finite_weights():
    x = np.full((8, 2), 1e3, dtype=np.float32)
    y = np.full((8, 1), 1e3, dtype=np.float32)
    net = nnframe.Network([nnframe.layer("dense", 2, 1)]).use("mse")
    with pytest.raises(nnframe.TrainingDivergedError) as info:
        net.fit(x, y, epochs=50, batch_size=2, learning_rate=10.0, seed=0, verbose=0)
    message = str(info.value)
    assert "epoch 1" in message and "batch" in message and "smaller learning rate" in message
    assert all(np.isfinite(p.value).all() for p in net.parameters())


@pytest.mark.parametrize("kwargs", [{"epochs": -1}, {"batch_size": 0}, {"learning_rate": -0.1}])
def test_bad_training_arguments(kwargs):
    x, y = xor()
    net = xor_network().use("mse", "sgd")
    with pytest.raises(nnframe.ConfigError):
        net.fit(x, y, verbose=0, **kwargs)


def test_negative_learning_rate_in_the_optimizer():
    with pytest.raises(nnframe.ConfigError, match="SGD: learning_rate"):
        nnframe.optimizer("sgd", learning_rate=-1)


def test_adding_a_non_layer():
    with pytest.raises(nnframe.ConfigError, match=r"layer 0 .*lacks"):
        nnframe.Network([object()])
