"""The installed distribution: found by entry point, listed with its version, loaded
lazily, and built on nnframe's public API only."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest

import nnframe

nnframe_conv = pytest.importorskip(
    "nnframe_conv", reason="nnframe-conv is not installed: `pip install ./plugins/nnframe-conv` "
    "or run `nox -s tests`")

LAYERS = {"conv2d": "Conv2D", "maxpool2d": "MaxPool2D", "avgpool2d": "AvgPool2D",
          "conv1d": "Conv1D", "separable_conv2d": "SeparableConv2D",
          "global_avg_pool": "GlobalAvgPool", "global_max_pool": "GlobalMaxPool",
          "adaptive_avg_pool2d": "AdaptiveAvgPool2D", "adaptive_max_pool2d": "AdaptiveMaxPool2D"}
#: The layers' own named kernels (`nnframe_conv.kernels`).
KERNELS = ("maxpool2d_backward", "im2col", "col2im")
#: What the plugin may import from nnframe: the package itself and its public modules.
PUBLIC_MODULES = {"nnframe", "nnframe.speed.kernels",
                  "nnframe.checks.arguments", "nnframe.core.contracts.initializer",
                  "nnframe.speed.parallel", "nnframe.testing", "nnframe.speed.workspace"}


def installed_version() -> str:
    return importlib.metadata.version("nnframe-conv")


def test_version_is_the_distribution_version():
    assert nnframe_conv.__version__ == installed_version()


def test_nnframe_list_layers_shows_every_layer_with_distribution_and_version():
    result = subprocess.run([sys.executable, "-m", "nnframe", "list", "layers", "--json"],
                            capture_output=True, text=True, check=True)
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    for name in LAYERS:
        assert rows[name]["kind"] == "layer"
        assert rows[name]["distribution"] == "nnframe-conv"
        assert rows[name]["version"] == installed_version()
        assert rows[name]["summary"]
    assert "nnframe: warning" not in result.stderr


def test_nnframe_plugins_shows_the_plugin_healthy():
    result = subprocess.run([sys.executable, "-m", "nnframe", "plugins", "--json"],
                            capture_output=True, text=True, check=True)
    plugin = next(p for p in json.loads(result.stdout) if p["distribution"] == "nnframe-conv")
    assert plugin["status"] == "ok", plugin["error"]
    assert plugin["hooks"] == ["register_layers", "register_converters",
                               "register_kernels"]
    assert plugin["version"] == installed_version()


@pytest.mark.parametrize(("name", "cls"), LAYERS.items())
def test_layers_resolve_by_bare_and_qualified_name(name, cls):
    component = nnframe.get_registry().get("layer", name)
    assert component.distribution == "nnframe-conv"
    assert component.factory is getattr(nnframe_conv, cls)
    assert nnframe.get_registry().get("layer", f"nnframe-conv:{name}") is component


def test_load_plugins_can_leave_the_plugin_out(monkeypatch):
    monkeypatch.setenv("NNFRAME_LOAD_PLUGINS", "")
    with pytest.raises(nnframe.UnknownComponentError):
        nnframe.layer("conv2d", 8, 3)


def test_importing_nnframe_does_not_import_the_plugin():
    code = "import sys, nnframe; print('nnframe_conv' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_plugin_uses_only_the_public_api():
    package = Path(nnframe_conv.__file__).parent
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nnframe."):
                assert node.module in PUBLIC_MODULES, f"{path.name} imports {node.module}"
            if isinstance(node, ast.ImportFrom) and node.module == "nnframe":
                for alias in node.names:
                    assert alias.name in nnframe.__all__, f"{path.name}: {alias.name}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("nnframe."):
                        assert alias.name in PUBLIC_MODULES, f"{path.name} imports {alias.name}"


def test_every_layer_passes_the_plugin_authors_kit():
    """nnframe.testing checks each registered layer against the layer contract, with the
    check_hints the layers carry (gradients, shapes, dtype, config, seeded build)."""
    from nnframe.testing import check_distribution

    reports = check_distribution("nnframe-conv")
    assert sorted((report.kind, report.component) for report in reports) == sorted(
        [(kind, f"nnframe-conv:{name}") for name in LAYERS for kind in ("layer", "converter")]
        + [("kernel", f"nnframe-conv:{name}") for name in KERNELS])
    assert all(report.passed for report in reports)
