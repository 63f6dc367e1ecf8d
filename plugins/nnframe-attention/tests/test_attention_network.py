"""The attention layers inside a Network: learning a task that needs attention, dtypes end
to end, the padding mask from data, model files, summary, the example config, and errors
that say what to change."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from attention_data import keep_mask, with_mask_channel

import nnframe
from nnframe.summary import summary_rows

L = nnframe.layer
ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "seq_mnist_transformer.toml"


def classifier(padding=False, features=8):
    return nnframe.Network([
        L("dense", output_size=features) if not padding else
        L("sinusoidal_position", padding_mask=True),
        L("positional_embedding", 10, padding_mask=padding),
        L("transformer_encoder", 2, 16, dropout=0.0, padding_mask=padding),
        L("sequence_pool", "mean", padding_mask=padding),
        L("dense", output_size=2)])


def test_attention_learns_which_step_holds_the_answer(rng):
    """Each sequence has one marked step (channel 1) whose channel 0 sign is the class: the
    network must look it up wherever it is, which needs attention over the steps."""
    n, time = 512, 6
    x = rng.standard_normal((n, time, 2)).astype(np.float32) * 0.3
    x[:, :, 1] = 0.0
    where = rng.integers(0, time, n)
    x[np.arange(n), where, 1] = 1.0
    y = (x[np.arange(n), where, 0] > 0).astype(np.int64)
    network = classifier()
    network.use("cross_entropy", nnframe.optimizer("adam", learning_rate=3e-3))
    network.fit(x, y, epochs=30, batch_size=64, seed=0, verbose=0)
    assert network.evaluate(x, y)["accuracy"] > 0.9


def test_padding_steps_change_nothing(rng):
    """With the mask channel, whatever the padding steps hold, the prediction is the same."""
    network = classifier(padding=True).build((10, 9), seed=0)
    keep = keep_mask(6, 10)[:3]  # whole, and padded after 3 and after 1 step
    x = with_mask_channel(rng.standard_normal((3, 10, 8)).astype(np.float32), keep)
    noisy = x.copy()
    noisy[..., :-1][~keep] = 100.0 * rng.standard_normal(noisy[..., :-1][~keep].shape)
    np.testing.assert_allclose(network.predict(noisy), network.predict(x), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_network_keeps_its_dtype_end_to_end(dtype, rng):
    network = classifier().build((10, 3), seed=0)
    network = nnframe.Network(network.layers, dtype=dtype).build((10, 3), seed=0)
    x = rng.standard_normal((4, 10, 3))
    y = network.predict(x)
    assert y.dtype == np.dtype(dtype)
    assert all(p.value.dtype == np.dtype(dtype) for p in network.parameters())
    network.use("cross_entropy", "adam").fit(x.astype(dtype), np.array([0, 1, 0, 1]),
                                             epochs=1, batch_size=2, verbose=0)


def test_model_files_round_trip(tmp_path, rng):
    network = nnframe.Network([
        L("embedding", 12, 8), L("sinusoidal_position"),
        L("transformer_encoder", 2, 16, norm_first=True, activation="gelu", causal=True),
        L("multi_head_attention", 4, dropout=0.1, causal=True), L("dense", output_size=12)])
    x = rng.integers(0, 12, (32, 7)).astype(np.float32)
    network.build((7,), seed=0)
    path = tmp_path / "lm.npz"
    network.save(path)
    loaded = nnframe.load(path)
    np.testing.assert_array_equal(loaded.predict(x), network.predict(x))
    encoder = loaded.layers[2]
    assert (encoder.norm_first, encoder.activation, encoder.causal) == (True, "gelu", True)


def test_a_trained_network_saves_and_loads(tmp_path, rng):
    x = rng.standard_normal((64, 10, 3)).astype(np.float32)
    y = (x[:, 0, 0] > 0).astype(np.int64)
    network = classifier().use("cross_entropy", "adam")
    network.fit(x, y, epochs=1, batch_size=16, seed=0, verbose=0)
    network.save(tmp_path / "m.npz")
    loaded = nnframe.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.predict(x), network.predict(x))
    for a, b in zip(loaded.parameters(), network.parameters(), strict=True):
        assert a.key == b.key
        np.testing.assert_array_equal(a.value, b.value)


def test_summary_sees_through_the_encoder():
    network = classifier().build((10, 3), seed=0)
    rows = [(row.key, row.name, row.output_shape, row.params) for row in summary_rows(network)]
    assert rows[2:8] == [
        ("2", "transformer_encoder", (10, 8), 4 * 8 * 8 + 4 * 8 + 8 * 16 + 16 + 16 * 8 + 8 + 32),
        ("2.attention", "multi_head_attention", (10, 8), 4 * 8 * 8 + 4 * 8),
        ("2.linear1", "dense", (10, 16), 8 * 16 + 16),
        ("2.linear2", "dense", (10, 8), 16 * 8 + 8),
        ("2.norm1", "layer_norm", (10, 8), 16),
        ("2.norm2", "layer_norm", (10, 8), 16)]
    keys = [p.key for p in network.parameters()]
    assert "2.attention.in_weights" in keys and "2.norm2.beta" in keys


def test_summary_of_a_masked_encoder_shows_the_features_inside():
    network = classifier(padding=True).build((10, 5), seed=0)
    rows = {row.key: row.output_shape for row in summary_rows(network)}
    assert rows["2"] == (10, 5) and rows["2.attention"] == (10, 4)
    assert rows["3"] == (4,)


def test_the_seq_mnist_transformer_config_is_valid():
    from nnframe.config import load_config

    config = load_config(EXAMPLE)
    network = config.build_network().build(config.data.sample_shape, seed=0)
    names = [(row.name, row.output_shape) for row in summary_rows(network) if "." not in row.key]
    assert names == [("dense", (28, 64)), ("positional_embedding", (28, 64)),
                     ("transformer_encoder", (28, 64)), ("transformer_encoder", (28, 64)),
                     ("sequence_pool", (64,)), ("dense", (10,))]
    # PyTorch's model of the same workload has the same count (its nn.Linear, LayerNorm
    # and packed attention hold exactly these arrays)
    assert network.count_params() == 1_856 + 1_792 + 2 * 33_472 + 650


def test_heads_that_do_not_divide_the_features_are_refused():
    with pytest.raises(nnframe.ShapeError, match="do not split into 3 heads"):
        nnframe.Network([L("multi_head_attention", 3)]).build((5, 8), seed=0)


def test_a_sequence_longer_than_max_length_is_refused():
    with pytest.raises(nnframe.ShapeError, match="up to 4 steps, got sequences of 6"):
        nnframe.Network([L("positional_embedding", 4)]).build((6, 8), seed=0)


def test_images_get_a_reshape_hint():
    with pytest.raises(nnframe.ShapeError, match=r"reshape = \[28, 28\]"):
        nnframe.Network([L("multi_head_attention", 2)]).build((28, 28, 1), seed=0)


@pytest.mark.parametrize("bad, match", [
    ({"mode": "max"}, "mode"), ({"padding_mask": "yes"}, "padding_mask")])
def test_bad_arguments_are_config_errors(bad, match):
    with pytest.raises(nnframe.ConfigError, match=match):
        L("sequence_pool", **bad)
