"""A loss's optional members: takes_logits, probabilities and check_targets, implemented by
the built-ins, used by fit, evaluate and the CLI for any loss that has them."""

from __future__ import annotations

from typing import ClassVar

import attrs
import numpy as np
import pytest
from typer.testing import CliRunner

import nnframe
from nnframe.cli import app
from tests.fake_plugins import plugin_module


def test_cross_entropy_refuses_rows_that_are_not_distributions():
    loss = nnframe.loss("cross_entropy")
    loss.check_targets(np.eye(3)[[0, 2]], (3,))  # one-hot
    loss.check_targets(np.array([[0.2, 0.8, 0.0]]), (3,))  # soft labels
    with pytest.raises(nnframe.DataError, match=r"one-hot rows or class probabilities.*"
                       r"binary_cross_entropy"):
        loss.check_targets(np.array([[1.0, 1.0, 0.0]]), (3,))
    with pytest.raises(nnframe.DataError, match=r"one output per class.*binary_cross_entropy"):
        loss.check_targets(np.array([0, 1]), (1,))


def test_fit_runs_the_target_check_of_a_plugin_loss():
    net = nnframe.Network([nnframe.layer("dense", 2, 3)]).use("cross_entropy", "sgd")
    x = np.ones((4, 2), np.float32)
    with pytest.raises(nnframe.DataError, match="y: cross_entropy: label 5 is out of range"):
        net.fit(x, np.array([0, 1, 5, 2]), verbose=0)


def test_probabilities_of_the_builtin_losses():
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]], np.float32)
    p = nnframe.loss("cross_entropy").probabilities(logits)
    np.testing.assert_allclose(p, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]])
    assert nnframe.loss("binary_cross_entropy").probabilities(np.array([[0.0]]))[0, 0] == 0.5
    assert nnframe.loss("mse").probabilities(logits) is None


@attrs.define(eq=False)
class Hinge(nnframe.Loss):
    """Multi-class hinge on raw scores, whose probabilities are a softmax (a plugin loss)."""

    takes_logits: ClassVar[bool] = True
    _cache: tuple | None = attrs.field(init=False, default=None, repr=False)

    def forward(self, y_true, y_pred):
        labels = np.asarray(y_true, dtype=np.intp)
        rows = np.arange(len(y_pred))
        margins = np.maximum(0.0, 1.0 + y_pred - y_pred[rows, labels][:, None])
        margins[rows, labels] = 0.0
        self._cache = (margins > 0, labels)
        return float(margins.sum()) / len(y_pred)

    def backward(self):
        active, labels = self._cache
        grad = active.astype(np.float32)
        grad[np.arange(len(grad)), labels] = -active.sum(axis=1)
        return grad / len(grad)

    def check_targets(self, y_true, output_shape):
        if y_true.ndim != 1 or (y_true.size and y_true.max() >= output_shape[0]):
            raise nnframe.DataError("hinge takes integer class labels below the output width")

    def probabilities(self, y_pred):
        shifted = np.exp(y_pred - y_pred.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)


def test_the_cli_reads_probabilities_from_any_loss(tmp_path):
    def register_losses(register):
        register("hinge", Hinge)

    nnframe.get_registry().register_plugin(
        plugin_module("hinge", register_losses=register_losses), "hinge-plugin")
    net = nnframe.Network([nnframe.layer("dense", 2, 3)]).use("hinge", "sgd")
    x = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    with pytest.raises(nnframe.DataError, match="hinge takes integer class labels"):
        net.fit(x, np.array([0, 7]), verbose=0)
    net.fit(x, np.array([0, 2]), epochs=3, verbose=0, seed=0)
    model, inputs = tmp_path / "m.npz", tmp_path / "x.npy"
    net.save(model)
    np.save(inputs, x)
    result = CliRunner().invoke(app, ["predict", str(model), str(inputs)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split() == ["sample", "class", "probability"]
    expected = Hinge().probabilities(net.predict(x).astype(np.float64))
    first = result.stdout.splitlines()[1].split()
    assert float(first[2]) == pytest.approx(expected[0].max(), abs=1e-4)
