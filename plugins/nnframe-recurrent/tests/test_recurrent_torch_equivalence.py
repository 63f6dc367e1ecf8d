"""The layers compute PyTorch's equations: against a float64 NumPy transcription of the
formulas of PyTorch's documentation (in PyTorch's weight layout), against PyTorch itself
when it is installed (never a test dependency), and weights moved both ways."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import nnframe

nnframe_recurrent = pytest.importorskip(
    "nnframe_recurrent", reason="nnframe-recurrent is not installed: "
    "`pip install ./plugins/nnframe-recurrent` or run `nox -s tests`")
from nnframe_recurrent import load_torch_state_dict, to_torch_state_dict  # noqa: E402

F64 = np.dtype("float64")
LAYERS = ["rnn", "lstm", "gru"]
TORCH_CLASSES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def torch_equations(name, x, state_dict):
    """Every hidden state, (N, time, units), step by step as PyTorch documents its nn.RNN,
    nn.LSTM and nn.GRU, with its (G * units, features) matrices and two biases."""
    w_ih, w_hh = state_dict["weight_ih_l0"], state_dict["weight_hh_l0"]
    b_ih, b_hh = state_dict["bias_ih_l0"], state_dict["bias_hh_l0"]
    n, time, _ = x.shape
    units = w_hh.shape[1]
    h = np.zeros((n, units))
    c = np.zeros((n, units))
    states = []
    for t in range(time):
        xi = x[:, t] @ w_ih.T + b_ih
        hh = h @ w_hh.T + b_hh
        if name == "rnn":
            h = np.tanh(xi + hh)
        elif name == "lstm":
            i, f, g, o = np.split(xi + hh, 4, axis=1)
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
        else:
            x_r, x_z, x_n = np.split(xi, 3, axis=1)
            h_r, h_z, h_n = np.split(hh, 3, axis=1)
            r = sigmoid(x_r + h_r)
            z = sigmoid(x_z + h_z)
            new = np.tanh(x_n + r * h_n)
            h = (1 - z) * new + z * h
        states.append(h)
    return np.stack(states, axis=1)


def built(name, units, input_shape, rng, **kwargs):
    layer = nnframe.layer(name, units, **kwargs)
    layer.build(input_shape, rng, F64)
    return layer


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("name", LAYERS)
def test_forward_follows_pytorchs_equations(name, return_sequences, rng):
    layer = built(name, 5, (6, 3), rng, return_sequences=return_sequences)
    x = rng.standard_normal((4, 6, 3))
    expected = torch_equations(name, x, to_torch_state_dict(layer))
    if not return_sequences:
        expected = expected[:, -1]
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.forward(x, training=True), expected, rtol=1e-12,
                               atol=1e-14)


@pytest.mark.parametrize("name", LAYERS)
def test_the_last_state_is_the_last_of_the_sequence(name, rng):
    x = rng.standard_normal((3, 5, 2))
    last = built(name, 4, (5, 2), np.random.default_rng(1))
    every = built(name, 4, (5, 2), np.random.default_rng(1), return_sequences=True)
    np.testing.assert_array_equal(last.forward(x), every.forward(x)[:, -1])


@pytest.mark.parametrize("name", LAYERS)
def test_inference_in_chunks_equals_one_pass(name, rng, monkeypatch):
    """Inference works through a large batch in chunks of samples, to bound its memory."""
    layer = built(name, 4, (5, 3), rng, return_sequences=True)
    x = rng.standard_normal((11, 5, 3))
    whole = layer.forward(x)
    monkeypatch.setattr(type(layer), "inference_bytes", 1)  # one sample at a time
    np.testing.assert_allclose(layer.forward(x), whole, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(layer.forward(x, training=True), whole, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", LAYERS)
def test_weights_are_pytorchs_transposed(name, rng):
    layer = built(name, 5, (6, 3), rng)
    state = to_torch_state_dict(layer)
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[name]
    assert state["weight_ih_l0"].shape == (gates * 5, 3)
    assert state["weight_hh_l0"].shape == (gates * 5, 5)
    np.testing.assert_array_equal(state["weight_ih_l0"], layer.params["input_weights"].T)
    np.testing.assert_array_equal(state["weight_hh_l0"], layer.params["recurrent_weights"].T)
    if name == "gru":
        np.testing.assert_array_equal(state["bias_ih_l0"], layer.params["input_bias"])
        np.testing.assert_array_equal(state["bias_hh_l0"], layer.params["recurrent_bias"])
    else:
        np.testing.assert_array_equal(state["bias_ih_l0"] + state["bias_hh_l0"],
                                      layer.params["bias"])


@pytest.mark.parametrize("name", LAYERS)
def test_a_state_dict_round_trips_and_sums_the_two_biases(name, rng):
    source = built(name, 4, (5, 3), rng)
    target = built(name, 4, (5, 3), np.random.default_rng(99))
    state = to_torch_state_dict(source)
    state["bias_hh_l0"] = state["bias_hh_l0"] + 0.25  # two biases, as PyTorch trains them
    if name != "gru":
        state["bias_ih_l0"] = state["bias_ih_l0"] - 0.25
    buffers = dict(target.params)
    load_torch_state_dict(target, state)
    assert all(target.params[key] is value for key, value in buffers.items())  # in place
    for key, value in source.params.items():
        expected = value + 0.25 if key == "recurrent_bias" else value
        np.testing.assert_allclose(target.params[key], expected, rtol=0, atol=1e-15)


def test_a_state_dict_with_a_prefix_and_a_layer_index(rng):
    source = built("lstm", 4, (5, 3), rng)
    state = {f"encoder.{key}": value for key, value in to_torch_state_dict(source, 1).items()}
    target = built("lstm", 4, (5, 3), np.random.default_rng(5))
    load_torch_state_dict(target, state, index=1, prefix="encoder.")
    for key, value in source.params.items():
        np.testing.assert_array_equal(target.params[key], value)


def test_a_module_without_biases_loads_as_zero_biases(rng):
    layer = built("gru", 2, (3, 2), rng)
    state = {k: v for k, v in to_torch_state_dict(layer).items() if "bias" not in k}
    load_torch_state_dict(layer, state)
    assert not layer.params["input_bias"].any() and not layer.params["recurrent_bias"].any()


def test_loading_weights_of_the_wrong_sizes_or_names_says_what_is_wrong(rng):
    lstm = built("lstm", 4, (5, 3), rng)
    with pytest.raises(nnframe.ShapeError, match=r"lstm: PyTorch's weight_ih has shape "
                                                 r"\(12, 3\), expected \(16, 3\) for 3 "
                                                 r"features and 4 units"):
        load_torch_state_dict(lstm, to_torch_state_dict(built("gru", 4, (5, 3), rng)))
    with pytest.raises(nnframe.DataError, match=r"lstm: the state dict has no "
                                                r"'weight_ih_l1' \(its keys: bias_hh_l0, "):
        load_torch_state_dict(lstm, to_torch_state_dict(lstm), index=1)
    with pytest.raises(nnframe.NetworkStateError, match="lstm is not built"):
        to_torch_state_dict(nnframe.layer("lstm", 4))


# -- against PyTorch itself, when it is installed --------------------------------------------


@pytest.fixture
def torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed (never required)")


def torch_module(torch, name, features, units, state):
    module = getattr(torch.nn, TORCH_CLASSES[name])(features, units, batch_first=True,
                                                    dtype=torch.float64)
    module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return module


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("name", LAYERS)
def test_outputs_and_gradients_equal_pytorchs(name, return_sequences, rng, torch):
    layer = built(name, 5, (6, 3), rng, return_sequences=return_sequences)
    module = torch_module(torch, name, 3, 5, to_torch_state_dict(layer))
    x = rng.standard_normal((4, 6, 3))
    upstream = rng.standard_normal((4, 6, 5) if return_sequences else (4, 5))

    x_torch = torch.tensor(x, requires_grad=True)
    output = module(x_torch)[0]
    output = output if return_sequences else output[:, -1]
    (output * torch.from_numpy(upstream)).sum().backward()

    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y, output.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.backward(upstream), x_torch.grad.numpy(), rtol=1e-10,
                               atol=1e-13)
    torch_grads = {name: p.grad.numpy() for name, p in module.named_parameters()}
    np.testing.assert_allclose(layer.grads["input_weights"], torch_grads["weight_ih_l0"].T,
                               rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(layer.grads["recurrent_weights"], torch_grads["weight_hh_l0"].T,
                               rtol=1e-10, atol=1e-13)
    if name == "gru":
        np.testing.assert_allclose(layer.grads["input_bias"], torch_grads["bias_ih_l0"],
                                   rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(layer.grads["recurrent_bias"], torch_grads["bias_hh_l0"],
                                   rtol=1e-10, atol=1e-13)
    else:  # one bias, so its gradient is that of either of PyTorch's two
        np.testing.assert_allclose(layer.grads["bias"], torch_grads["bias_ih_l0"],
                                   rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(layer.grads["bias"], torch_grads["bias_hh_l0"],
                                   rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("name", LAYERS)
def test_a_pytorch_module_runs_the_same_in_nnframe(name, rng, torch):
    """PyTorch's own initialisation and two trained-like biases, moved into nnframe."""
    torch.manual_seed(0)
    module = getattr(torch.nn, TORCH_CLASSES[name])(3, 4, batch_first=True,
                                                    dtype=torch.float64)
    layer = built(name, 4, (7, 3), rng)
    load_torch_state_dict(layer, module.state_dict())
    x = rng.standard_normal((5, 7, 3))
    expected = module(torch.from_numpy(x))[0][:, -1].detach().numpy()
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-14)


def test_the_readmes_worked_conversion_runs(torch):
    """The README's PyTorch state_dict example, both ways, exactly as printed there."""
    readme = Path(__file__).resolve().parents[1] / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(), flags=re.S)
    (example,) = [block for block in blocks if "load_torch_state_dict(lstm" in block]
    exec(compile(example, str(readme), "exec"), {})  # its asserts compare the outputs
