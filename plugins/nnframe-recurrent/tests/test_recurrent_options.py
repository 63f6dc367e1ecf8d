"""rnn, lstm and gru with PyTorch's options: ``bias=False`` (use_bias), ``bidirectional`` and
rnn's ``nonlinearity="relu"``; finite-difference gradients, the kit, the empty batch, model
files, weights to and from PyTorch and, where torch is installed, float64 parity of the
outputs and of every gradient with torch.nn.RNN / LSTM / GRU."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe

nnframe_recurrent = pytest.importorskip(
    "nnframe_recurrent", reason="nnframe-recurrent is not installed: "
    "`pip install ./plugins/nnframe-recurrent` or run `nox -s tests`")
from nnframe_recurrent import load_torch_state_dict, to_torch_state_dict  # noqa: E402

F64 = np.dtype("float64")

OPTIONS = [
    {"use_bias": False},
    {"bidirectional": True},
    {"bidirectional": True, "return_sequences": True},
    {"bidirectional": True, "use_bias": False, "return_sequences": True},
]
CASES = ([(name, options) for name in ("rnn", "lstm", "gru") for options in OPTIONS]
         + [("rnn", {"nonlinearity": "relu"}),
            ("rnn", {"nonlinearity": "relu", "bidirectional": True, "return_sequences": True})])
IDS = [f"{name}-" + ",".join(f"{k}={v}" for k, v in options.items()) for name, options in CASES]
TORCH_CLASSES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def built(name, options, shape=(5, 3), units=4, seed=0):
    layer = nnframe.layer(name, units, **options)
    layer.build(shape, np.random.default_rng(seed), F64)
    return layer


@pytest.mark.parametrize(("name", "options"), CASES, ids=IDS)
def test_gradients(name, options, rng, gradient_errors):
    layer = built(name, options)
    errors = gradient_errors(layer, rng.standard_normal((3, 5, 3)), rng)
    assert set(errors) == {"input", *layer.params}  # each within its tolerance (raises)


@pytest.mark.parametrize(("name", "options"), CASES, ids=IDS)
def test_passes_the_kit(name, options):
    from nnframe.testing import check_layer

    check_layer(name, (4, 2), units=3, **options)


@pytest.mark.parametrize(("name", "options"), CASES, ids=IDS)
def test_matches_torch(name, options, rng):
    torch = pytest.importorskip("torch")
    layer = built(name, options)
    kwargs = {"bias": layer.use_bias, "bidirectional": layer.bidirectional}
    if name == "rnn":
        kwargs["nonlinearity"] = layer.nonlinearity
    module = getattr(torch.nn, TORCH_CLASSES[name])(3, 4, batch_first=True, **kwargs).double()
    module.load_state_dict({k: torch.from_numpy(v) for k, v in to_torch_state_dict(layer).items()})
    x = rng.standard_normal((2, 5, 3))
    y = layer.forward(x, training=True)
    upstream = rng.standard_normal(y.shape)
    grad_input = layer.backward(upstream)

    tx = torch.tensor(x, requires_grad=True)
    sequence, last = module(tx)
    if name == "lstm":
        last = last[0]
    ty = sequence if layer.return_sequences else last.transpose(0, 1).reshape(2, -1)
    ty.backward(torch.tensor(upstream))
    np.testing.assert_allclose(y, ty.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(grad_input, tx.grad.numpy(), atol=1e-12)
    grads = {key: value.grad.numpy() for key, value in module.named_parameters()}
    for key, value in to_torch_state_dict(_as_grads(layer)).items():
        expected = grads[key]
        if key.startswith("bias_hh") and name != "gru":  # one bias: the sum of PyTorch's
            continue
        np.testing.assert_allclose(value, expected, atol=1e-12, err_msg=key)


def _as_grads(layer):
    """A copy of the layer whose params are its grads, for to_torch_state_dict."""
    clone = nnframe.layer(layer.layer_name, **layer.get_config())
    clone.build((5, layer.features), np.random.default_rng(0), F64)
    for key, value in layer.grads.items():
        clone.params[key][...] = value
    return clone


def test_the_reverse_direction_reads_the_sequence_backwards(rng):
    both = built("gru", {"bidirectional": True, "return_sequences": True})
    forward_only = built("gru", {"return_sequences": True})
    x = rng.standard_normal((2, 5, 3))
    reverse = {k[len("reverse_"):]: v for k, v in both.params.items() if k.startswith("reverse_")}
    for key, value in reverse.items():
        forward_only.params[key][...] = value
    y = both.forward(x)
    np.testing.assert_allclose(y[..., 4:], forward_only.forward(x[:, ::-1])[:, ::-1],
                               atol=1e-15)


def test_bidirectional_parameters_and_output_shape():
    layer = nnframe.layer("lstm", 4, bidirectional=True, use_bias=False)
    assert layer.output_shape((5, 3)) == (8,)
    layer.build((5, 3), np.random.default_rng(0), F64)
    assert {k: v.shape for k, v in layer.params.items()} == {
        "input_weights": (3, 16), "recurrent_weights": (4, 16),
        "reverse_input_weights": (3, 16), "reverse_recurrent_weights": (4, 16)}


@pytest.mark.parametrize(("name", "options"), CASES, ids=IDS)
def test_empty_batch(name, options):
    layer = built(name, options)
    y = layer.forward(np.zeros((0, 5, 3)), training=True)
    assert y.shape == (0, *layer.output_shape((5, 3)))
    assert layer.backward(np.zeros(y.shape)).shape == (0, 5, 3)
    assert all((g == 0).all() for g in layer.grads.values())


def test_a_bidirectional_network_trains_saves_and_loads(tmp_path, rng):
    x = rng.standard_normal((64, 6, 2)).astype(np.float32)
    y = (x[:, 0, 0] > x[:, -1, 0]).astype(np.int64)
    network = nnframe.Network([
        nnframe.layer("gru", 5, bidirectional=True, return_sequences=True),
        nnframe.layer("rnn", 4, nonlinearity="relu", use_bias=False, bidirectional=True),
        nnframe.layer("dense", output_size=2)])
    network.use("cross_entropy", "adam")
    network.fit(x, y, epochs=2, batch_size=16, seed=0, verbose=0)
    loaded = nnframe.load(network.save(str(tmp_path / "model.npz")))
    np.testing.assert_array_equal(loaded.predict(x), network.predict(x))


def test_defaults_keep_saved_configs():
    assert nnframe.layer("rnn", 3).get_config() == {
        "units": 3, "return_sequences": False, "use_bias": True, "bidirectional": False,
        "initial_state": "zeros", "nonlinearity": "tanh"}
    assert nnframe.layer("lstm", 3).get_config() == {
        "units": 3, "return_sequences": False, "use_bias": True, "bidirectional": False,
        "initial_state": "zeros"}


def test_a_bias_free_layer_refuses_a_state_dict_with_biases():
    source = built("lstm", {})
    target = built("lstm", {"use_bias": False})
    with pytest.raises(nnframe.DataError, match="has no bias \\(use_bias=False\\)"):
        load_torch_state_dict(target, to_torch_state_dict(source))


def test_a_bidirectional_state_dict_round_trips():
    source = built("gru", {"bidirectional": True}, seed=1)
    target = built("gru", {"bidirectional": True}, seed=2)
    load_torch_state_dict(target, to_torch_state_dict(source))
    for key, value in source.params.items():
        np.testing.assert_array_equal(target.params[key], value)


def test_bad_nonlinearity_is_a_config_error():
    with pytest.raises(nnframe.ConfigError, match="nonlinearity must be 'tanh' or 'relu'"):
        nnframe.layer("rnn", 3, nonlinearity="sigmoid")


LEARNED = [(name, {"initial_state": "learned", **options}) for name in ("rnn", "lstm", "gru")
           for options in ({}, {"bidirectional": True, "return_sequences": True},
                           {"use_bias": False, "bidirectional": True})]
LEARNED_IDS = [f"{name}-" + ",".join(f"{k}={v}" for k, v in options.items())
               for name, options in LEARNED]


@pytest.mark.parametrize(("name", "options"), LEARNED, ids=LEARNED_IDS)
def test_learned_initial_state_gradients(name, options, rng, gradient_errors):
    layer = built(name, options)
    for key, value in layer.params.items():  # zeros at build: move them
        if "initial" in key:
            value[...] = rng.standard_normal(value.shape)
    errors = gradient_errors(layer, rng.standard_normal((3, 5, 3)), rng)
    assert set(errors) == {"input", *layer.params}  # each within its tolerance (raises)


@pytest.mark.parametrize(("name", "options"), LEARNED, ids=LEARNED_IDS)
def test_learned_initial_state_is_torchs_h0_for_the_whole_batch(name, options, rng):
    """PyTorch's forward(x, h0) (and (h0, c0)), one state for every sample: the outputs,
    dE/dX, every weight gradient, and dE/dh0 summed over the batch."""
    torch = pytest.importorskip("torch")
    layer = built(name, options)
    directions = 2 if layer.bidirectional else 1
    initial = {}
    for key in layer.params:
        if "initial" in key:
            layer.params[key][...] = rng.standard_normal(4)
    for prefix in ("", "reverse_")[:directions]:
        for key in layer.initial_keys:
            initial.setdefault(key, []).append(layer.params[prefix + key])
    kwargs = {"bias": layer.use_bias, "bidirectional": layer.bidirectional}
    module = getattr(torch.nn, TORCH_CLASSES[name])(3, 4, batch_first=True, **kwargs).double()
    module.load_state_dict({k: torch.from_numpy(v) for k, v in to_torch_state_dict(layer).items()})
    x = rng.standard_normal((2, 5, 3))
    y = layer.forward(x, training=True)
    upstream = rng.standard_normal(y.shape)
    grad_input = layer.backward(upstream)

    tx = torch.tensor(x, requires_grad=True)
    states = {key: torch.tensor(np.repeat(np.stack(v)[:, None], 2, axis=1), requires_grad=True)
              for key, v in initial.items()}  # (directions, N, units)
    hx = ((states["initial_state"], states["initial_cell"]) if name == "lstm"
          else states["initial_state"])
    sequence, last = module(tx, hx)
    if name == "lstm":
        last = last[0]
    ty = sequence if layer.return_sequences else last.transpose(0, 1).reshape(2, -1)
    ty.backward(torch.tensor(upstream))
    np.testing.assert_allclose(y, ty.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(grad_input, tx.grad.numpy(), atol=1e-12)
    for key, value in states.items():
        summed = value.grad.numpy().sum(axis=1)
        for k, prefix in enumerate(("", "reverse_")[:directions]):
            np.testing.assert_allclose(layer.grads[prefix + key], summed[k], atol=1e-12)
    grads = {key: value.grad.numpy() for key, value in module.named_parameters()}
    for key, value in to_torch_state_dict(_as_grads(layer)).items():
        if not (key.startswith("bias_hh") and name != "gru"):
            np.testing.assert_allclose(value, grads[key], atol=1e-12, err_msg=key)


def test_learned_initial_states_are_zero_parameters_at_build():
    layer = built("lstm", {"initial_state": "learned", "bidirectional": True})
    for key in ("initial_state", "initial_cell", "reverse_initial_state",
                "reverse_initial_cell"):
        np.testing.assert_array_equal(layer.params[key], np.zeros(4))
    zeros = built("lstm", {"bidirectional": True})
    x = np.random.default_rng(0).standard_normal((2, 5, 3))
    for key, value in zeros.params.items():
        layer.params[key][...] = value
    np.testing.assert_array_equal(layer.forward(x), zeros.forward(x))


def test_bad_initial_state_is_a_config_error():
    with pytest.raises(nnframe.ConfigError, match="initial_state must be 'zeros' or 'learned'"):
        nnframe.layer("gru", 3, initial_state="given")


@pytest.mark.parametrize(("name", "options"), LEARNED, ids=LEARNED_IDS)
def test_learned_initial_state_passes_the_kit(name, options):
    """The kit's finite differences meet the gradient of a recurrent weight through ten
    steps and two states at about 1e-6 relative on its smallest elements (seed to seed
    1e-8 to 3e-6), so the tolerance is 1e-5 here; the torch parity above is 1e-12."""
    from nnframe.testing import check_layer

    check_layer(name, (4, 2), hints={"tolerance": 1e-5}, units=3, **options)
