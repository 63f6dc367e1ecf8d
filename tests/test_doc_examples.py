"""Every code block of README.md and docs/*.md runs as written, in page order (Sybil).

Each page runs as a reader would run it: from a fresh temporary working directory holding
what a clone of the repository holds beside the pages (``examples/``, ``tools/``), with
``NNFRAME_DATA_DIR`` set, every ```python block in one namespace, every ```bash block in
``bash -e`` with this Python's ``nnframe`` and ``python`` first on PATH, and every ```toml
block read as TOML (a block with a ``[model]`` table is checked as a training config).

Three HTML comments steer it; the first two go on the line directly above a fence:

- ``<!-- skip: next -->``: the next block is an excerpt (or needs what CI has not: a
  network, a cluster), and the prose around it says so; it is not run (Sybil's skip).
- ``<!-- output -->``: the next ```text block is what the block before it prints, or, when
  its first line is ``$ COMMAND``, what that command prints (stdout and stderr, whatever
  its exit status: an error message is output too); compared as doctest does, with
  ``...`` for any text and any run of spaces and line breaks as one space (so a line
  wrapped to fit the page still matches).
- ``<!-- slow -->``, above the first block that trains on full MNIST or takes minutes: the
  page's test is marked ``slow`` (CI runs it; ``pytest -m "not slow"`` leaves it out
  while working). Nothing in the block is changed to make it faster.

A Python block whose first line names a file (``# src/nnframe_swish/plugin.py``) is a
piece of that file: the pieces are joined in page order under ``src/`` in the working
directory (on ``sys.path``) before the page runs, as the package stands once a reader has
followed the page, instead of being run; a TOML block whose first line
is only ``# NAME.toml`` is written to that file (for the commands after it to read, even
when it is meant to be refused), the others are checked.
"""

from __future__ import annotations

import contextlib
import doctest
import importlib
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sybil = pytest.importorskip("sybil", reason="the docs runner needs sybil (the test extra)")
from sybil import Sybil  # noqa: E402
from sybil.evaluators.python import PythonEvaluator  # noqa: E402
from sybil.parsers.markdown import CodeBlockParser, SkipParser  # noqa: E402

from tests.conftest import mnist_dir  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["README.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))]
FILE_HEADER = re.compile(r"#\s*src/(?P<path>[\w/]+\.py)\s*$")
TOML_FILE = re.compile(r"#\s*(?P<path>[\w.-]+\.toml)\s*$")
OUTPUT_MARK = "<!-- output -->"
SLOW_MARK = "<!-- slow -->"
#: Seconds one bash block may take (full-MNIST training on a busy 2-core machine).
BASH_TIMEOUT_S = 1800
_LAST_OUTPUT = "__docs_last_output__"
#: What a reader's clone holds beside the pages that the pages' commands use.
CLONE = ("examples", "tools")
#: Pages that build a plugin distribution in src/: (distribution, plugin module). Their
#: other blocks run with it installed, as the page's reader has it (``pip install -e``, a
#: block shown but not run), for which the module is registered under that distribution.
PLUGINS = {"docs/writing-plugins.md": ("nnframe-swish", "nnframe_swish.plugin")}
_INSTALLED = "__docs_plugin_installed__"


def run_python(example) -> None:
    """A block of Python: a piece of a package file, or code run in the page's namespace
    with its printed output kept for an ``<!-- output -->`` block."""
    if _file_path(example.parsed) is not None:  # written before the page ran
        example.namespace[_LAST_OUTPUT] = None
        return
    page = Path(example.path).relative_to(ROOT).as_posix()
    if page in PLUGINS and not example.namespace.get(_INSTALLED):
        import nnframe

        distribution, module = PLUGINS[page]
        nnframe.get_registry().register_plugin(importlib.import_module(module), "docs",
                                               distribution=distribution, version="0.1.0")
        example.namespace[_INSTALLED] = True
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        PythonEvaluator()(example)
    example.namespace[_LAST_OUTPUT] = printed.getvalue()
    sys.stdout.write(printed.getvalue())


def _shell(script: str, merged: bool = True) -> subprocess.CompletedProcess:
    """``script`` run by bash as a reader's terminal would, with this Python's ``nnframe``
    and ``python`` first on PATH; with ``merged``, stderr goes into stdout."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
           f"{os.environ.get('PATH', '')}", "COLUMNS": "100"}
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], text=True,
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT if merged else subprocess.PIPE,
                          env=env, timeout=BASH_TIMEOUT_S, check=False)


def _file_path(source: str) -> Path | None:
    """Where a Python block whose first line names a file under src/ goes, else None."""
    lines = source.splitlines()
    match = FILE_HEADER.fullmatch(lines[0]) if lines else None
    return Path("src") / match["path"] if match else None


def write_package_files(examples: list) -> None:
    """Join the pieces of each file the page's blocks name, in page order, under src/:
    the package as the reader has it once they have followed the page."""
    for example in examples:
        source = example.parsed if isinstance(example.parsed, str) else ""
        target = _file_path(source)
        if target is None:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        for folder in target.relative_to("src").parents:
            init = Path("src") / folder / "__init__.py"
            if folder != Path(".") and not init.exists():
                init.write_text("")
        with open(target, "a", encoding="utf-8") as file:
            file.write(source + "\n")


def run_bash(example) -> None:
    """A block of shell commands, as a reader types them into a terminal."""
    result = _shell(example.parsed, merged=False)
    example.namespace[_LAST_OUTPUT] = result.stdout
    if result.returncode:
        raise AssertionError(f"{example.path}:{example.line}: exit {result.returncode}\n"
                             f"{example.parsed}\nstdout:\n{result.stdout[-3000:]}\n"
                             f"stderr:\n{result.stderr[-3000:]}")


def check_toml(example) -> None:
    """A TOML block parses; one with a ``[model]`` table is a valid training config (given
    what it leaves out: a loss, an optimizer, the MNIST sample, one epoch)."""
    from nnframe.config import parse_config

    if sys.version_info >= (3, 11):
        from tomllib import loads
    else:  # pragma: no cover - Python 3.10
        from tomli import loads
    lines = example.parsed.splitlines()
    named = TOML_FILE.fullmatch(lines[0]) if lines else None
    if named:
        Path(named["path"]).write_text(example.parsed, encoding="utf-8")
        example.namespace[_LAST_OUTPUT] = None
        return
    raw = loads(example.parsed)
    if "model" in raw:
        defaults = {"loss": {"type": "cross_entropy"}, "optimizer": {"type": "adam"},
                    "data": {"dataset": "mnist_sample", "flatten": True},
                    "train": {"epochs": 1}}
        parse_config({**defaults, **raw}, source=f"{example.path}:{example.line}")
    example.namespace[_LAST_OUTPUT] = None


def check_output(example) -> None:
    """A ```text block under ``<!-- output -->``: what the block before it printed."""
    before = example.document.text[:example.start].rstrip().splitlines()
    if not before or before[-1].strip() != OUTPUT_MARK:
        return  # a text block that is not output: nothing to check
    want = example.parsed
    if want.startswith("$ "):
        command, _, want = want.partition("\n")
        printed = _shell(command[2:]).stdout
    else:
        printed = example.namespace.get(_LAST_OUTPUT)
    assert printed is not None, f"{example.path}:{example.line}: no output to compare"
    checker = doctest.OutputChecker()
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    if not checker.check_output(want, printed, flags):
        raise AssertionError(f"{example.path}:{example.line}: the page shows\n{want}\n"
                             f"but the block before it printed\n{printed}")


DOCS = Sybil(
    parsers=[CodeBlockParser("python", run_python), CodeBlockParser("bash", run_bash),
             CodeBlockParser("toml", check_toml), CodeBlockParser("text", check_output),
             SkipParser()],
    path=str(ROOT),
)


def page_params() -> list:
    params = []
    for page in PAGES:
        slow = SLOW_MARK in (ROOT / page).read_text(encoding="utf-8")
        params.append(pytest.param(page, marks=[pytest.mark.slow] if slow else [], id=page))
    return params


@pytest.fixture
def reader_folder(tmp_path, monkeypatch):
    """A fresh working directory like a reader's clone: examples/ and tools/, src/
    on sys.path for the package a page builds; the modules it imports are forgotten."""
    if mnist_dir() is None:
        pytest.skip("the pages use MNIST: set NNFRAME_DATA_DIR to the folder holding mnist/")
    monkeypatch.setenv("NNFRAME_DATA_DIR", str(mnist_dir()))
    # the pages show what nnframe prints on its own: a compiled-kernel plugin installed
    # beside it (nnframe-numba, in the test session) rounds updates differently in the last
    # bit, which after thousands of steps moves a printed accuracy by a few samples
    monkeypatch.setenv("NNFRAME_KERNELS", "reference")
    # and with the BLAS threads as the reader's machine has them: the gate that drops to one
    # thread while the cores are busy changes a batch-1 product's last bit with the load
    monkeypatch.setenv("NNFRAME_BLAS_THREADS", "keep")
    for folder in CLONE:
        shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / "src").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    # forget only what the page built under src/: removing a library's modules (SQLAlchemy,
    # say) would make its next import load a second copy of it beside live objects
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


@pytest.mark.parametrize("page", page_params())
def test_every_block_of_the_page_runs_in_order(page, reader_folder, monkeypatch):
    if page in PLUGINS:  # the page's names are its own: installed plugins stay out
        monkeypatch.setenv("NNFRAME_LOAD_PLUGINS", "")
    examples = list(DOCS.parse(ROOT / page).examples())
    write_package_files(examples)
    for example in examples:
        example.evaluate()
    assert examples or page not in ("README.md", "docs/user-guide.md")
    if page in PLUGINS:  # every component the page builds honours its contract
        from nnframe.core.kinds import KINDS
        from nnframe.testing import check_distribution

        reports = check_distribution(PLUGINS[page][0])
        assert len(reports) >= len(KINDS), [r.component for r in reports]


def test_a_skip_mark_must_sit_directly_above_a_fence():
    """A mark with a blank line or prose before its fence would steer the wrong block."""
    problems = []
    for page in PAGES:
        lines = (ROOT / page).read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            mark = line.strip()
            if mark in ("<!-- skip: next -->", OUTPUT_MARK):
                following = lines[number] if number < len(lines) else ""
                if not following.lstrip().startswith("```"):
                    problems.append(f"{page}:{number}: {mark} is not directly above a fence")
    assert not problems, "\n".join(problems)
