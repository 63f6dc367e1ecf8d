"""Numbers that used to pass validation and should not: infinite hyperparameters, and models
whose weights hold NaN (predicted as "class 0, probability nan" with exit 0)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import nnframe
from nnframe.errors import ConfigError
from tests.test_cli_train import EXAMPLES, one_error_line, run_main

INF, NAN = math.inf, math.nan

# (optimizer, argument): every float hyperparameter of the built-in optimizers
HYPERPARAMETERS = [
    ("sgd", "learning_rate"), ("sgd", "momentum"),
    ("adam", "learning_rate"), ("adam", "beta1"), ("adam", "beta2"), ("adam", "eps"),
    ("adamw", "learning_rate"), ("adamw", "weight_decay"), ("adamw", "eps"),
    ("rmsprop", "learning_rate"), ("rmsprop", "alpha"), ("rmsprop", "eps"),
    ("rmsprop", "momentum"),
]


@pytest.mark.parametrize("value", [INF, -INF, NAN])
@pytest.mark.parametrize(("name", "argument"), HYPERPARAMETERS)
def test_optimizer_hyperparameters_must_be_finite(name, argument, value):
    with pytest.raises(ConfigError, match=f"{argument} must be a number") as info:
        nnframe.optimizer(name, **{argument: value})
    assert repr(value) in str(info.value)


def test_the_message_says_finite():
    with pytest.raises(ConfigError) as info:
        nnframe.optimizer("sgd", learning_rate=INF)
    assert str(info.value) == "SGD: learning_rate must be a number >= 0 and finite, got inf"


@pytest.mark.parametrize(("kind", "name", "argument"), [
    ("loss", "huber", "delta"), ("layer", "leaky_relu", "negative_slope")])
def test_other_float_arguments_must_be_finite(kind, name, argument):
    build = getattr(nnframe, kind)
    with pytest.raises(ConfigError, match=f"{argument} must be a number .* and finite"):
        build(name, **{argument: INF})


def test_fit_refuses_an_infinite_learning_rate_before_training():
    x = np.zeros((4, 2), np.float32)
    y = np.zeros((4, 1), np.float32)
    net = nnframe.Network([nnframe.layer("dense", 2, 1)]).use("mse")
    with pytest.raises(ConfigError, match="learning_rate must be a number >= 0 and finite"):
        net.fit(x, y, epochs=1, learning_rate=INF, verbose=0)
    net.use("mse", "sgd")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning: training never starts
        with pytest.raises(ConfigError, match="learning_rate must be a number >= 0 and finite"):
            net.fit(x, y, epochs=1, learning_rate=INF, verbose=0)
    assert not net.built


@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_a_config_with_an_infinite_learning_rate_is_one_error_at_its_key(tmp_path, capsys,
                                                                          value):
    text = (EXAMPLES / "xor.toml").read_text()
    path = tmp_path / "inf.toml"
    path.write_text(text.replace("learning_rate = 0.1", f"learning_rate = {value}"))
    assert path.read_text() != text
    status, out, err = run_main(capsys, "train", path, "-o", tmp_path / "m.npz")
    line = one_error_line(err)
    assert status == 2 and out == "" and "RuntimeWarning" not in err
    assert (f"{path}: optimizer.learning_rate: optimizer 'sgd': SGD: learning_rate must be a "
            f"number >= 0 and finite, got {value}") in line
    assert not (tmp_path / "m.npz").exists()


# -- models whose weights are not finite ------------------------------------------------------


@pytest.fixture
def nan_model(tmp_path, capsys):
    """The XOR model, the same with one NaN weight, and an input file for them."""
    good = tmp_path / "xor.npz"
    assert run_main(capsys, "train", EXAMPLES / "xor.toml", "-q", "-o", good)[0] == 0
    net = nnframe.load(good)
    net.layers[0].params["weights"][0, 0] = np.nan
    bad = net.save(tmp_path / "nan.npz")
    inputs = tmp_path / "x.npy"
    np.save(inputs, np.array([[0, 1], [1, 1]], np.float32))
    return good, bad, inputs


def test_predict_with_nan_weights_is_one_error_line(nan_model, capsys):
    _, bad, inputs = nan_model
    status, out, err = run_main(capsys, "predict", bad, inputs)
    assert status == 2 and out == ""
    assert one_error_line(err) == (
        f"nnframe: error: {bad}: the model's outputs are not finite: its weights hold NaN or "
        "infinite values (0.weights); retrain it or load another file")
    status, out, err = run_main(capsys, "predict", bad, inputs, "-o", bad.with_suffix(".npy"))
    assert status == 2 and "outputs are not finite" in one_error_line(err)
    assert not bad.with_suffix(".npy").exists()


def test_evaluate_with_nan_weights_is_one_error_line(nan_model, capsys):
    _, bad, _ = nan_model
    status, out, err = run_main(capsys, "evaluate", bad)
    assert status == 2 and out == ""
    assert "its weights hold NaN or infinite values (0.weights)" in one_error_line(err)


def test_summary_warns_about_nan_weights(nan_model, capsys):
    good, bad, _ = nan_model
    status, out, err = run_main(capsys, "summary", bad)
    assert status == 0 and "dense" in out
    assert err.strip() == (f"nnframe: warning: {bad}: the weights 0.weights hold NaN or "
                           "infinite values; the model's outputs will not be finite")
    status, _, err = run_main(capsys, "summary", good)
    assert status == 0 and err == ""


def test_nan_inputs_are_not_blamed_on_training(nan_model, tmp_path, capsys):
    good, _, _ = nan_model
    inputs = tmp_path / "nan.npy"
    np.save(inputs, np.array([[0, np.nan]], np.float32))
    status, _, err = run_main(capsys, "predict", good, inputs)
    line = one_error_line(err)
    assert status == 2 and f"{inputs} contains 1 NaN or infinite values" in line
    assert line.endswith("clean or impute them before predicting")
    assert "training" not in line
