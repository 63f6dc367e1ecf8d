"""backward against float64 central finite differences, for every layer and whole blocks:
batch > 1, several heads, features != heads, causal and padding masks (a sample that is all
padding included), dropout on (its masks replayed by rewinding the generator)."""

from __future__ import annotations

import numpy as np
import pytest
from attention_data import keep_mask, with_mask_channel

import nnframe
from nnframe.testing import assert_layer_gradients, check_layer

EPS = 1e-5


def gradient_errors(layer, x, rng, seed=7):
    """{"input": e, <key>: e, ...}: ``layer`` built in float64 for ``x``'s samples, its
    weights moved off their initial values, dropout replayed by rewinding its generator.
    A mask channel is passed through (its gradient is the output's) or, in sequence_pool,
    thresholded (zero): finite differences see both, the mask being exactly 0 or 1."""
    generator = np.random.default_rng(seed)
    layer.build(x.shape[1:], generator, np.dtype("float64"))
    for value in layer.params.values():
        value += 0.1 * rng.standard_normal(value.shape)
    state = generator.bit_generator.state

    def rewind():
        generator.bit_generator.state = state

    rewind()
    upstream = rng.standard_normal(layer.forward(x, training=True).shape)
    # raises, naming the array and element, where backward and the differences disagree
    return assert_layer_gradients(layer, x, upstream, step=EPS, before_forward=rewind)


def sequences(rng, n=4, time=5, features=6, padding=False):
    x = rng.standard_normal((n, time, features))
    return with_mask_channel(x, keep_mask(n, time)) if padding else x


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("padding", [False, True])
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_multi_head_attention(rng, causal, padding, dropout):
    layer = nnframe.layer("multi_head_attention", 3, dropout=dropout, causal=causal,
                          padding_mask=padding)
    errors = gradient_errors(layer, sequences(rng, padding=padding), rng)
    assert set(errors) == {"input", "in_weights", "in_bias", "out_weights", "out_bias"}


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("padding", [False, True])
def test_transformer_encoder_block(rng, norm_first, activation, padding):
    layer = nnframe.layer("transformer_encoder", 2, 7, dropout=0.2, activation=activation,
                          norm_first=norm_first, padding_mask=padding)
    errors = gradient_errors(layer, sequences(rng, padding=padding), rng)
    assert len(errors) == 13  # the input and 12 inner arrays


@pytest.mark.parametrize("padding", [False, True])
def test_a_whole_classifier_backpropagates(rng, padding):
    """Positions, two encoder blocks and a pool in one composite chain, as in a network."""
    layer = nnframe.layer("sequential", layers=[
        {"type": "positional_embedding", "max_length": 7, "padding_mask": padding},
        {"type": "transformer_encoder", "num_heads": 2, "feedforward_size": 5,
         "dropout": 0.1, "padding_mask": padding},
        {"type": "transformer_encoder", "num_heads": 3, "feedforward_size": 4,
         "norm_first": True, "padding_mask": padding},
        {"type": "sequence_pool", "mode": "mean", "padding_mask": padding},
        {"type": "dense", "output_size": 3}])
    x = sequences(rng, padding=padding)
    gradient_errors(layer, x, rng)


@pytest.mark.parametrize("mode", ["mean", "first", "last"])
@pytest.mark.parametrize("padding", [False, True])
def test_sequence_pool(rng, mode, padding):
    layer = nnframe.layer("sequence_pool", mode, padding_mask=padding)
    gradient_errors(layer, sequences(rng, padding=padding), rng)


@pytest.mark.parametrize("name, args", [("positional_embedding", (8,)),
                                        ("sinusoidal_position", ())])
@pytest.mark.parametrize("padding", [False, True])
def test_positions(rng, name, args, padding):
    layer = nnframe.layer(name, *args, padding_mask=padding)
    gradient_errors(layer, sequences(rng, features=5, padding=padding), rng)


@pytest.mark.parametrize("config", [
    {"num_heads": 2, "causal": True, "padding_mask": True},
    {"num_heads": 1, "dropout": 0.5}])
def test_kit_checks_attention_variants(config):
    check_layer("multi_head_attention", (4, 5 if config.get("padding_mask") else 4), **config)


@pytest.mark.parametrize("config", [
    {"num_heads": 2, "feedforward_size": 3, "norm_first": True, "activation": "gelu"},
    {"num_heads": 2, "feedforward_size": 3, "padding_mask": True, "causal": True}])
def test_kit_checks_encoder_variants(config):
    shape = (3, 5) if config.get("padding_mask") else (3, 4)
    check_layer("transformer_encoder", shape, **config)
