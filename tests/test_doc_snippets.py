"""The guide's examples run as shown, and the plugin they build passes the kit.

A Python block whose first line names a file (``# src/nnframe_swish/plugin.py``) is a piece
of that file, as a reader would add it to their package; the pieces of each file are joined
in order, the package is imported and its plugin registered. Every other Python block runs
after that, in order, in one namespace, as a reader would paste them into one session. A
TOML block with a ``[model]`` table is checked as a training config (with a loss, an
optimizer, the MNIST sample and one epoch where it gives none).
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

import nnframe
from nnframe.config import parse_config
from nnframe.testing import check_distribution

if sys.version_info >= (3, 11):
    from tomllib import loads as toml_loads
else:  # pragma: no cover - Python 3.10
    from tomli import loads as toml_loads

DOCS = Path(__file__).resolve().parents[1] / "docs"
FILE_HEADER = re.compile(r"#\s*src/(?P<path>[\w/]+\.py)\s*$")

#: Pages whose every Python block runs, and the plugin their file blocks make, if any:
#: (distribution, plugin module).
PAGES = {
    "writing-plugins.md": ("nnframe-swish", "nnframe_swish.plugin"),
    "composite-networks.md": None,
    "user-guide.md": None,
    "your-data.md": None,
}

#: What a ``[model]`` block of a page is trained with when it says nothing else.
CONFIG_DEFAULTS = {
    "loss": {"type": "cross_entropy"},
    "optimizer": {"type": "adam"},
    "data": {"dataset": "mnist_sample"},
    "train": {"epochs": 1},
}


def blocks(page: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", (DOCS / page).read_text(),
                      flags=re.S | re.M)


def split_files(code_blocks: list[str]) -> tuple[dict[str, str], list[str]]:
    """``({path under src/: source}, [other blocks])``."""
    files: dict[str, str] = {}
    scripts = []
    for block in code_blocks:
        first = block.splitlines()[0] if block.strip() else ""
        match = FILE_HEADER.fullmatch(first)
        if match:
            files[match["path"]] = files.get(match["path"], "") + block + "\n"
        else:
            scripts.append(block)
    return files, scripts


def test_file_blocks_are_told_from_scripts():
    files, scripts = split_files(["# src/pkg/plugin.py\nA = 1\n", "print(A)\n",
                                  "# src/pkg/plugin.py\nB = 2\n"])
    assert list(files) == ["pkg/plugin.py"] and "A = 1" in files["pkg/plugin.py"]
    assert "B = 2" in files["pkg/plugin.py"] and scripts == ["print(A)\n"]


@pytest.fixture
def package_root(tmp_path, monkeypatch):
    """An empty src/ folder on sys.path; the modules imported from it are forgotten.
    Installed plugins stay out (the pages' names are their own), the built-in one is in."""
    monkeypatch.setenv("NNFRAME_LOAD_PLUGINS", "")
    root = tmp_path / "src"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.chdir(tmp_path)
    before = set(sys.modules)
    yield root
    for name in set(sys.modules) - before:
        if not name.startswith(("nnframe", "numpy", "pytest", "_pytest")):
            del sys.modules[name]


@pytest.mark.parametrize("page", sorted(PAGES))
def test_the_python_examples_of_the_page_run(page, package_root):
    files, scripts = split_files(blocks(page, "python"))
    plugin = PAGES[page]
    assert bool(files) == (plugin is not None), "file blocks belong to a page's plugin"
    for path, source in files.items():
        target = package_root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        for folder in target.relative_to(package_root).parents:
            init = package_root / folder / "__init__.py"
            if folder != Path(".") and not init.exists():
                init.write_text("")
        target.write_text(source)
    if plugin is not None:
        distribution, module = plugin
        nnframe.get_registry().register_plugin(
            importlib.import_module(module), "docs", distribution=distribution,
            version="0.1.0")
    namespace: dict = {"__name__": "__docs__"}
    for number, script in enumerate(scripts, 1):
        try:
            exec(compile(script, f"docs/{page}, example {number}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"docs/{page}: example {number} failed:\n{script}") from exc
    if plugin is not None:  # every component the page builds honours its contract
        reports = check_distribution(plugin[0])
        assert len(reports) >= len(nnframe.kinds.KINDS), [r.component for r in reports]


@pytest.mark.parametrize("page", sorted(PAGES))
def test_the_model_configs_of_the_page_check(page):
    for number, block in enumerate(blocks(page, "toml"), 1):
        raw = toml_loads(block)
        if "model" in raw:
            parse_config({**CONFIG_DEFAULTS, **raw}, source=f"docs/{page} config {number}")
