"""Optional cross-checks against PyTorch (skipped without it): nn.MultiheadAttention and
nn.TransformerEncoderLayer (batch_first, post- and pre-norm, ReLU and GELU) with and
without masks, forward and every gradient, in float64 to 1e-7 relative or better; and the
state-dict conversion both ways."""

from __future__ import annotations

import numpy as np
import pytest
from attention_data import keep_mask, with_mask_channel
from nnframe_attention import load_torch_state_dict, to_torch_state_dict

import nnframe

torch = pytest.importorskip("torch", reason="PyTorch is not installed (an optional "
                            "cross-check)")

N, TIME, F = 4, 6, 8
RTOL = 1e-7


def relative(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def run_both(layer, module, rng, padding, torch_call):
    """Forward and backward through both; the largest relative difference of the output,
    dE/dX and every parameter gradient (with PyTorch's names)."""
    keep = keep_mask(N, TIME)
    x = rng.standard_normal((N, TIME, F))
    upstream = rng.standard_normal((N, TIME, F))
    ours_x = with_mask_channel(x, keep) if padding else x
    y = layer.forward(ours_x, training=True)
    grad = layer.backward(with_mask_channel(upstream, keep) if padding else upstream)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch_call(module, xt, torch.tensor(~keep) if padding else None)
    yt.backward(torch.tensor(upstream))
    differences = {"output": relative(y[..., :F], yt.detach().numpy()),
                   "input": relative(grad[..., :F], xt.grad.numpy())}
    ours = _grads_as_torch(layer)
    for name, parameter in module.named_parameters():
        differences[name] = relative(ours[name], parameter.grad.numpy())
    return differences


def _grads_as_torch(layer):
    """The layer's gradients under PyTorch's names and layouts."""
    saved = {key: value.copy() for key, value in layer.params.items()}
    for key in layer.params:
        layer.params[key][...] = layer.grads[key]
    try:
        return to_torch_state_dict(layer)
    finally:
        for key, value in saved.items():
            layer.params[key][...] = value


def perturbed(layer, rng):
    for value in layer.params.values():
        value += 0.2 * rng.standard_normal(value.shape)
    return layer


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("padding", [False, True])
def test_multi_head_attention_matches_pytorch(rng, causal, padding):
    layer = nnframe.layer("multi_head_attention", 4, causal=causal, padding_mask=padding)
    layer.build((TIME, F + padding), np.random.default_rng(0), np.dtype("float64"))
    perturbed(layer, rng)
    module = torch.nn.MultiheadAttention(F, 4, batch_first=True, dtype=torch.float64)
    module.load_state_dict({k: torch.from_numpy(v)
                            for k, v in to_torch_state_dict(layer).items()})
    mask = torch.triu(torch.ones(TIME, TIME, dtype=torch.bool), 1) if causal else None

    def call(m, xt, padding_mask):
        return m(xt, xt, xt, attn_mask=mask, key_padding_mask=padding_mask,
                 need_weights=False)[0]

    differences = run_both(layer, module, rng, padding, call)
    assert max(differences.values()) < RTOL, differences


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("padding", [False, True])
@pytest.mark.parametrize("causal", [False, True])
def test_transformer_encoder_matches_pytorch(rng, norm_first, activation, padding, causal):
    layer = nnframe.layer("transformer_encoder", 2, 12, dropout=0.0, activation=activation,
                          norm_first=norm_first, padding_mask=padding, causal=causal)
    layer.build((TIME, F + padding), np.random.default_rng(0), np.dtype("float64"))
    perturbed(layer, rng)
    module = torch.nn.TransformerEncoderLayer(F, 2, 12, dropout=0.0, activation=activation,
                                              norm_first=norm_first, batch_first=True,
                                              dtype=torch.float64)
    load = {k: torch.from_numpy(v) for k, v in to_torch_state_dict(layer).items()}
    module.load_state_dict(load)
    module.train()  # the reference path, not the inference fast path

    mask = torch.triu(torch.ones(TIME, TIME, dtype=torch.bool), 1) if causal else None

    def call(m, xt, padding_mask):
        return m(xt, src_mask=mask, src_key_padding_mask=padding_mask, is_causal=causal)

    differences = run_both(layer, module, rng, padding, call)
    assert max(differences.values()) < RTOL, differences


def test_defaults_are_pytorchs():
    layer = nnframe.layer("transformer_encoder", 4, 32)
    module = torch.nn.TransformerEncoderLayer(16, 4, 32)
    assert layer.dropout == module.dropout.p == 0.1
    assert layer.eps == module.norm1.eps == 1e-5
    assert layer.norm_first is module.norm_first is False
    assert layer.activation == "relu"


def test_state_dicts_both_ways(rng):
    module = torch.nn.TransformerEncoderLayer(F, 2, 12, batch_first=True,
                                              dtype=torch.float64)
    layer = nnframe.layer("transformer_encoder", 2, 12)
    layer.build((TIME, F), np.random.default_rng(0), np.dtype("float64"))
    load_torch_state_dict(layer, module.state_dict())
    back = to_torch_state_dict(layer)
    for name, value in module.state_dict().items():
        np.testing.assert_array_equal(back[name], value.numpy())
    x = rng.standard_normal((N, TIME, F))
    module.eval()
    with torch.no_grad():
        expected = module(torch.tensor(x)).numpy()
    assert relative(layer.forward(x), expected) < RTOL


def test_a_state_dict_of_the_wrong_size_is_refused():
    module = torch.nn.MultiheadAttention(4, 2, batch_first=True)
    layer = nnframe.layer("multi_head_attention", 2)
    layer.build((3, 8), np.random.default_rng(0), np.dtype("float32"))
    with pytest.raises(nnframe.ShapeError, match="in_proj_weight"):
        load_torch_state_dict(layer, module.state_dict())
    with pytest.raises(nnframe.DataError, match=r"no 'x\.in_proj_weight'"):
        load_torch_state_dict(layer, module.state_dict(), prefix="x.")
