"""The installed distribution: found by entry point, loaded lazily, built on nnframe's
public API only, and passing the plugin author's kit."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest

import nnframe

nnframe_attention = pytest.importorskip(
    "nnframe_attention", reason="nnframe-attention is not installed: "
    "`pip install ./plugins/nnframe-attention` or run `nox -s tests`")

LAYERS = {"multi_head_attention": "MultiHeadAttention",
          "transformer_encoder": "TransformerEncoder",
          "positional_embedding": "PositionalEmbedding",
          "sinusoidal_position": "SinusoidalPosition",
          "sequence_pool": "SequencePool"}
#: What the plugin may import from nnframe: the package itself and its public modules.
PUBLIC_MODULES = {"nnframe", "nnframe.checks.arguments", "nnframe.layers.nested", "nnframe.testing"}


def test_version_is_the_distribution_version():
    assert nnframe_attention.__version__ == importlib.metadata.version("nnframe-attention")


def test_nnframe_list_layers_shows_the_layers_with_their_distribution():
    result = subprocess.run([sys.executable, "-m", "nnframe", "list", "layers", "--json"],
                            capture_output=True, text=True, check=True)
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    for name in LAYERS:
        assert rows[name]["distribution"] == "nnframe-attention"
        assert rows[name]["summary"]
    assert "nnframe: warning" not in result.stderr


@pytest.mark.parametrize(("name", "cls"), LAYERS.items())
def test_layers_resolve_by_bare_and_qualified_name(name, cls):
    component = nnframe.get_registry().get("layer", name)
    assert component.distribution == "nnframe-attention"
    assert component.factory is getattr(nnframe_attention, cls)
    assert nnframe.get_registry().get("layer", f"nnframe-attention:{name}") is component


def test_importing_nnframe_does_not_import_the_plugin():
    code = "import sys, nnframe; print('nnframe_attention' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_plugin_uses_only_the_public_api():
    package = Path(nnframe_attention.__file__).parent
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nnframe."):
                assert node.module in PUBLIC_MODULES, f"{path.name} imports {node.module}"
            if isinstance(node, ast.ImportFrom) and node.module == "nnframe":
                for alias in node.names:
                    assert alias.name in nnframe.__all__, f"{path.name}: {alias.name}"
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id == "nnframe"):
                assert node.attr in nnframe.__all__, f"{path.name}: nnframe.{node.attr}"


def test_the_plugin_does_not_import_torch():
    code = ("import sys, nnframe_attention.encoder, nnframe_attention.torch_weights; "
            "print(any(m == 'torch' or m.startswith('torch.') for m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_every_component_passes_the_plugin_authors_kit():
    from nnframe.testing import check_distribution

    reports = check_distribution("nnframe-attention")
    expected = [(kind, f"nnframe-attention:{name}") for name in LAYERS
                for kind in ("layer", "converter")]
    expected += [("loss", "nnframe-attention:sequence_cross_entropy"),
                 ("dataset", "nnframe-attention:python_chars")]
    assert sorted((report.kind, report.component) for report in reports) == sorted(expected)
    assert all(report.passed for report in reports)


def test_nnframe_check_passes():
    result = subprocess.run([sys.executable, "-m", "nnframe", "check", "nnframe-attention"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "12 components checked: 12 passed, 0 failed" in result.stdout
