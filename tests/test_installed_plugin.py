"""End to end: a real distribution, pip-installed by `nox -s tests`, found by entry point."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys

import numpy as np
import pytest

import nnframe
from nnframe.datasets import xor
from nnframe.testing import assert_layer_gradients

try:
    EXAMPLE_VERSION = importlib.metadata.version("nnframe-example")
except importlib.metadata.PackageNotFoundError:
    EXAMPLE_VERSION = None

pytestmark = pytest.mark.skipif(
    EXAMPLE_VERSION is None,
    reason="nnframe-example is not installed: run through `nox -s tests`, which pip-installs "
    "tests/plugin_dist/nnframe-example",
)


def test_installed_plugin_is_found_with_distribution_and_version():
    component = nnframe.get_registry().get("layer", "affine")
    assert (component.plugin, component.distribution, component.version) == (
        "example", "nnframe-example", EXAMPLE_VERSION)


def test_installed_plugin_appears_in_nnframe_list():
    result = subprocess.run([sys.executable, "-m", "nnframe", "list", "layers", "--json"],
                            capture_output=True, text=True, check=True)
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["affine"]["distribution"] == "nnframe-example"
    assert rows["affine"]["version"] == EXAMPLE_VERSION


def test_installed_plugin_layer_trains_inside_a_network(rng):
    x, y = xor()
    net = nnframe.Network([nnframe.layer("dense", 2, 4), nnframe.layer("tanh"),
                           nnframe.layer("nnframe-example:affine"),
                           nnframe.layer("dense", 4, 1), nnframe.layer("tanh")]).use("mse")
    history = net.fit(x, y, epochs=600, batch_size=1, learning_rate=0.1, seed=0, verbose=0)
    assert history["loss"][-1] < history["loss"][0] / 10
    assert not np.all(net.layers[2].params["scale"] == 1.0)  # it was trained


def test_installed_plugin_layer_gradients(rng):
    layer = nnframe.layer("affine")
    layer.build((3,), rng, np.dtype("float64"))
    layer.params["scale"][...] = rng.standard_normal(3)
    assert_layer_gradients(layer, rng.standard_normal((5, 3)), rng)


def test_disabled_by_load_plugins(monkeypatch):
    monkeypatch.setenv("NNFRAME_LOAD_PLUGINS", "")
    with pytest.raises(nnframe.UnknownComponentError):
        nnframe.layer("affine")


def run_python(code: str, *args: str) -> str:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                          text=True, check=True).stdout


TRAIN_AND_SAVE = """
import sys, numpy as np, nnframe
rng = np.random.default_rng(0)
x = (rng.standard_normal((64, 3)) * 2 + 3).astype(np.float32)
y = (x[:, 0] > 3).astype(np.int64)
net = nnframe.Network([nnframe.layer("dense", 3, 4), nnframe.layer("running_center"),
                       nnframe.layer("scaled_tanh", factor=1.5), nnframe.layer("dense", 4, 2)])
net.use("cross_entropy", "adam", metrics=["nnframe-example:mean_prediction"])
net.fit(x, y, epochs=3, batch_size=16, seed=0, verbose=0)
net.save(sys.argv[1])
np.save(sys.argv[2], x)
np.save(sys.argv[3], net.predict(x))
"""

LOAD_AND_PREDICT = """
import sys, numpy as np, nnframe
net = nnframe.load(sys.argv[1])
print(bool(np.array_equal(net.predict(np.load(sys.argv[2])), np.load(sys.argv[3]))),
      float(net.state()["1.running_mean"].sum()) != 0.0,
      [m.name for m in net.metrics], net.layers[2].factor)
"""


def test_a_stateful_plugin_layer_reloads_in_a_new_process_bit_for_bit(tmp_path):
    model, x, predictions = tmp_path / "m.npz", tmp_path / "x.npy", tmp_path / "p.npy"
    run_python(TRAIN_AND_SAVE, str(model), str(x), str(predictions))
    out = run_python(LOAD_AND_PREDICT, str(model), str(x), str(predictions))
    assert out.split() == ["True", "True", "['mean_prediction']", "1.5"]


def test_a_plugin_data_set_and_metric_from_a_config(tmp_path):
    config = tmp_path / "blobs.toml"
    config.write_text(
        '[model]\nlayers = [{ type = "dense", output_size = 3 }]\n'
        '[loss]\ntype = "cross_entropy"\n[optimizer]\ntype = "adam"\nlearning_rate = 0.05\n'
        '[data]\ndataset = "blobs"\n'
        '[train]\nepochs = 5\nseed = 0\nmetrics = ["mean_prediction", "f1"]\n')
    result = subprocess.run([sys.executable, "-m", "nnframe", "train", str(config), "-o",
                             str(tmp_path / "m.npz")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "blobs: 200 training, 100 test samples of shape (2,)" in result.stdout
    assert "mean_prediction" in result.stdout and "f1" in result.stdout


def test_installed_plugin_converts_its_layer_to_onnx(tmp_path):
    """The example distribution's converter for affine is found through its entry point;
    running_center, which it gives none, is named with the distribution in the error."""
    onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed")
    ort = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
    import nnframe.onnx

    net = nnframe.Network([nnframe.layer("dense", 3, 4), nnframe.layer("affine"),
                           nnframe.layer("tanh")]).build((3,), seed=0)
    net.layers[1].params["scale"][...] = [0.5, -2.0, 1.5, 3.0]
    net.layers[1].params["shift"][...] = [0.1, 0.2, -0.3, 0.0]
    path = nnframe.onnx.export(net, tmp_path / "affine.onnx")
    x = np.random.default_rng(0).standard_normal((7, 3)).astype(np.float32)
    runner = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(runner.run(None, {"input": x})[0], net.predict(x),
                               rtol=1e-5, atol=1e-6)
    assert any("nnframe-example:affine" in prop.value
               for prop in onnx.load(path).metadata_props)

    stateful = nnframe.Network([nnframe.layer("dense", 3, 4),
                                nnframe.layer("running_center")]).build((3,), seed=0)
    with pytest.raises(nnframe.ExportError, match=(
            r"^layer 1 \(running_center from nnframe-example\) has no ONNX converter")):
        nnframe.onnx.export(stateful, tmp_path / "stateful.onnx")
    assert not (tmp_path / "stateful.onnx").exists()
