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
from nnframe.testing import layer_gradient_errors

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
    errors = layer_gradient_errors(layer, rng.standard_normal((5, 3)), rng)
    assert max(errors.values()) < 1e-6, errors


def test_disabled_by_load_plugins(monkeypatch):
    monkeypatch.setenv("NNFRAME_LOAD_PLUGINS", "")
    with pytest.raises(nnframe.UnknownComponentError):
        nnframe.layer("affine")
