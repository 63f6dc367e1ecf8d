"""The character-level language model: sequence_cross_entropy, the python_chars data set,
examples/char_lm.toml trained from the command line (on a small subset), and generating
text from the saved model with examples/char_lm_generate.py."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from nnframe_attention.losses import SequenceCrossEntropy
from nnframe_attention.text import CONTEXT, decode, encode, python_chars_dataset

import nnframe

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ROOT / "examples" / "char_lm.toml"
GENERATE = ROOT / "examples" / "char_lm_generate.py"


def test_labels_and_one_hot_rows_give_the_same_loss_and_gradient(rng):
    logits = rng.standard_normal((3, 5, 7)) * 3
    labels = rng.integers(0, 7, (3, 5))
    loss = SequenceCrossEntropy()
    by_label = loss.forward(labels, logits)
    grad_label = loss.backward()
    by_row = loss.forward(np.eye(7)[labels], logits)
    np.testing.assert_allclose(by_label, by_row, rtol=1e-12)
    np.testing.assert_allclose(loss.backward(), grad_label, rtol=1e-12)
    # the mean over all 15 positions of -log softmax at the label
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    expected = -np.take_along_axis(log_p, labels[..., None], axis=-1).mean()
    np.testing.assert_allclose(by_label, expected, rtol=1e-12)


def test_the_loss_matches_pytorch(rng):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (an optional "
                                "cross-check)")
    logits = rng.standard_normal((4, 6, 9))
    labels = rng.integers(0, 9, (4, 6))
    loss = SequenceCrossEntropy()
    ours = loss.forward(labels.astype(np.float32), logits)
    tensor = torch.tensor(logits, requires_grad=True)
    theirs = torch.nn.functional.cross_entropy(tensor.reshape(-1, 9),
                                               torch.tensor(labels).reshape(-1))
    theirs.backward()
    np.testing.assert_allclose(ours, theirs.item(), rtol=1e-12)
    np.testing.assert_allclose(loss.backward(), tensor.grad.numpy(), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("targets, match", [
    (np.full((2, 3), 7.0), "out of range"), (np.full((2, 3), 0.5), "whole"),
    (np.zeros((2, 4)), "do not match")])
def test_bad_targets_are_data_errors(targets, match):
    with pytest.raises(nnframe.DataError, match=match):
        SequenceCrossEntropy().forward(targets, np.zeros((2, 3, 7)))


def test_the_data_set_is_text_shifted_by_one():
    info = python_chars_dataset()
    x, y = info.load("train")
    assert x.shape == y.shape == (info.sizes["train"], CONTEXT)
    np.testing.assert_array_equal(y[:, :-1], x[:, 1:])
    np.testing.assert_array_equal(y[:-1, -1], x[1:, 0])  # windows follow each other
    assert x.min() >= 0 and x.max() < 128
    x_test, y_test = info.load("test")
    assert x_test.shape == y_test.shape == (info.sizes["test"], CONTEXT)
    assert y[-1, -1] == x_test[0, 0]  # the test text starts where the training text ends
    assert "def " in decode(x[:200])


def test_encode_and_decode():
    assert decode(encode("def f(x):\n\treturn x")) == "def f(x):\n\treturn x"
    assert decode(encode("naïve")) == "na?ve"


def test_the_example_config_is_valid():
    from nnframe.config import load_config

    config = load_config(CONFIG)
    network = config.build_network().build(config.data.sample_shape, seed=0)
    assert network.output_shape == (CONTEXT, 128)
    assert config.loss.name == "sequence_cross_entropy"


def load_generate():
    spec = importlib.util.spec_from_file_location("char_lm_generate", GENERATE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_from_the_config_then_generate(tmp_path):
    """The example's pipeline on a small model and a subset: train from TOML, save,
    generate from the saved model, the same text for the same seed."""
    text = CONFIG.read_text()
    text = text.replace("feedforward_size = 256", "feedforward_size = 16")
    text = text.replace('dataset = "python_chars"', 'dataset = "python_chars"\nsubset = 64'
                        '\ntest_subset = 16').replace("epochs = 2", "epochs = 1")
    config = tmp_path / "small_lm.toml"
    config.write_text(text)
    result = subprocess.run([sys.executable, "-m", "nnframe", "train", str(config), "-q",
                             "-o", str(tmp_path / "lm.npz")], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "loss" in result.stdout
    network = nnframe.load(tmp_path / "lm.npz")
    generate = load_generate().generate
    first = generate(network, "def ", 20, 0.8, np.random.default_rng(0))
    again = generate(network, "def ", 20, 0.8, np.random.default_rng(0))
    assert first == again and first.startswith("def ") and len(first) == 24
    command = subprocess.run([sys.executable, str(GENERATE), str(tmp_path / "lm.npz"),
                              "import ", "--length", "10"], capture_output=True, text=True)
    assert command.returncode == 0, command.stderr
    assert command.stdout.startswith("import ")
