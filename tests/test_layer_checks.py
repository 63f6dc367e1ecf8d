"""A broken plugin layer is named on the first training batch: its index, registered name
and distribution, what it returned and what was expected; never a raw NumPy error."""

from __future__ import annotations

import subprocess
import sys

import attrs
import numpy as np
import pytest

import nnframe
from nnframe.errors import NetworkStateError, PluginError
from nnframe.testing import check_layer
from tests.fake_plugins import entry_point, plugin_module


@attrs.define(eq=False)
class Broken(nnframe.Layer):
    """An identity layer with one bug, chosen by ``bug``."""

    bug: str = "backward_shape"

    def build(self, input_shape, rng, dtype):
        self.params = {"w": np.ones(input_shape[-1], dtype)}
        self.grads = {"w": np.zeros(input_shape[-1], dtype)}

    def output_shape(self, input_shape):
        if self.bug == "output_shape":
            return (*input_shape[:-1], input_shape[-1] + 1)
        return tuple(input_shape)

    def forward(self, x, training=False):
        if self.bug == "forward_none":
            return None
        if self.bug == "forward_float64":
            return x.astype(np.float64)
        return x * self.params["w"]

    def backward(self, grad_output):
        if self.bug == "grads_replaced":
            self.grads["w"] = np.zeros(1, grad_output.dtype)
        else:
            self.grads["w"][...] = np.sum(grad_output, axis=0)
        if self.bug == "backward_shape":
            return grad_output.reshape(-1)[:4]
        if self.bug == "backward_raises":
            return grad_output.reshape(3)
        return grad_output * self.params["w"]


@pytest.fixture(autouse=True)
def broken_plugin():
    def register_layers(register):
        register("broken", Broken)

    table = nnframe.core.registry.Registry(entry_points=lambda: [
        entry_point("bad-dist", plugin_module("bad", register_layers=register_layers))])
    nnframe.core.registry.reset_registry(table)


@pytest.mark.parametrize(("bug", "message"), [
    ("backward_shape", r"backward returned shape \(4,\), expected \(8, 4\) \(dE/dX must have "
                       r"the shape of the layer's input\)"),
    ("forward_none", r"forward returned NoneType, not an array"),
    ("output_shape", r"forward returned shape \(8, 4\), expected \(8, 5\) \(output_shape\(\) "
                     r"says \(5,\) per sample\)"),
    ("forward_float64", r"forward returned float64 in a float32 network"),
    ("backward_raises", r"backward raised ValueError: cannot reshape array"),
])
def test_the_first_batch_names_a_broken_layer(bug, message):
    net = nnframe.Network([nnframe.layer("dense", 4, 4), nnframe.layer("broken", bug=bug),
                           nnframe.layer("dense", 4 if bug != "output_shape" else 5, 2)])
    net.use("cross_entropy", "sgd")
    x = np.ones((8, 4), np.float32)
    with pytest.raises(PluginError, match=r"^layer 1 \(broken from bad-dist\): " + message):
        net.fit(x, np.zeros(8, np.int64), batch_size=8, verbose=0)


def test_grads_replaced_with_the_wrong_shape_are_named():
    net = nnframe.Network([nnframe.layer("dense", 4, 4), nnframe.layer("broken",
                                                                      bug="grads_replaced")])
    net.use("mse", "sgd")
    with pytest.raises(NetworkStateError, match=r"layer 1 \(broken from bad-dist\): "
                       r"grads\['w'\] was replaced by a new array"):
        net.fit(np.ones((8, 4), np.float32), np.ones((8, 4), np.float32), verbose=0)


def test_the_cli_reports_a_broken_layer_in_one_line_with_exit_2(tmp_path):
    """Through a real entry point: a distribution on PYTHONPATH whose layer's backward
    returns the wrong shape."""
    package = tmp_path / "site" / "badlayer"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "import attrs, numpy as np, nnframe\n"
        "@attrs.define(eq=False)\n"
        "class Bad(nnframe.Layer):\n"
        "    def forward(self, x, training=False):\n        return x\n"
        "    def backward(self, g):\n        return g[:1]\n"
        "@nnframe.hookimpl\ndef register_layers(register):\n"
        "    register('bad_identity', Bad)\n")
    info = tmp_path / "site" / "badlayer-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: badlayer\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[nnframe]\nbad = badlayer\n")
    config = tmp_path / "c.toml"
    config.write_text(
        '[model]\nlayers = [{ type = "dense", output_size = 4 }, { type = "bad_identity" },'
        ' { type = "dense", output_size = 1 }]\n[loss]\ntype = "mse"\n'
        '[optimizer]\ntype = "sgd"\n[data]\ndataset = "xor"\n[train]\nepochs = 1\n')
    result = subprocess.run([sys.executable, "-m", "nnframe", "train", str(config), "-q"],
                            capture_output=True, text=True, cwd=tmp_path,
                            env={"PYTHONPATH": str(tmp_path / "site"), "PATH": ""})
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("nnframe: error: layer 1 (bad_identity from badlayer): backward "
                           "returned shape (1, 4), expected (4, 4)")


@attrs.define(eq=False)
class NaiveSwish(nnframe.Layer):
    """x * sigmoid(x) with a naive exp(-x)."""

    def forward(self, x, training=False):
        s = 1.0 / (1.0 + np.exp(-x))
        if training:
            self._cache = (x, s)
        return x * s

    def backward(self, grad_output):
        x, s = self._cache
        return grad_output * (s + x * s * (1 - s))

    _cache: tuple | None = attrs.field(init=False, default=None, repr=False)


def test_the_kit_catches_a_naive_exp_with_large_inputs():
    report = check_layer(NaiveSwish, (4,), raises=False)
    assert [f.name for f in report.failures] == ["large_inputs"]
    assert "overflow encountered in exp" in report["large_inputs"].detail
    assert check_layer(NaiveSwish, (4,), hints={"large_inputs": False}).passed


def test_a_blas_flag_on_finite_products_is_not_blamed_on_the_layer():
    """Some BLAS kernels raise the invalid flag in lanes they never store, so NumPy may
    report "invalid value encountered in matmul" for finite results, on some runs only;
    the kit judges products by their results, and still names a layer's own overflow."""
    from nnframe.testing.properties import FloatingPointLog

    log = FloatingPointLog()
    with log.errstate():
        np.matmul(np.array([[np.inf]], np.float32), np.zeros((1, 1), np.float32))
    assert log.messages == ["invalid value encountered in matmul"]
    assert log.first_error() is None
    with log.errstate():
        np.exp(np.float32(1e4))
    assert log.first_error() == "overflow encountered in exp"
