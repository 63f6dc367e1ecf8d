"""nnframe.extras: one way for every optional feature to say which extra it needs."""

from __future__ import annotations

import sys
import types

import pytest

from nnframe.errors import MissingExtraError
from nnframe.extras import install_hint, is_installed, require


def test_a_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "nnframe_absent_pkg", None)
    with pytest.raises(MissingExtraError) as caught:
        require("nnframe_absent_pkg", "onnx", "exporting to ONNX", package="the pkg")
    assert str(caught.value) == ("exporting to ONNX needs the pkg, which is not installed: "
                                 "pip install 'nnframe[onnx]'")
    assert not is_installed("nnframe_absent_pkg")


def test_an_old_package_names_the_version_and_the_upgrade(monkeypatch):
    monkeypatch.setitem(sys.modules, "nnframe_old_pkg",
                        types.SimpleNamespace(__version__="1.4.2"))
    with pytest.raises(ImportError) as caught:
        require("nnframe_old_pkg", "sklearn", "nnframe.sklearn", minimum=(1, 6),
                error=ImportError)
    assert type(caught.value) is ImportError
    assert str(caught.value) == ("nnframe.sklearn needs nnframe_old_pkg >= 1.6, found 1.4.2: "
                                 "pip install -U 'nnframe[sklearn]'")
    module = require("nnframe_old_pkg", "sklearn", "x", minimum=(1, 4))
    assert module is sys.modules["nnframe_old_pkg"]


def test_a_package_that_cannot_load_says_to_reinstall(monkeypatch, tmp_path):
    (tmp_path / "nnframe_broken_pkg.py").write_text("raise ImportError('libfoo.so missing')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MissingExtraError, match=r"installed but cannot be loaded "
                       r"\(libfoo.so missing\); reinstall it with pip install 'nnframe\[mpi\]'"):
        require("nnframe_broken_pkg", "mpi", "training on several processes")


def test_a_dependency_missing_inside_the_package_is_its_own_error(monkeypatch, tmp_path):
    """Not blamed on the extra: the package itself imports something absent."""
    (tmp_path / "nnframe_leaky_pkg.py").write_text("import nnframe_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="nnframe_no_such_dependency"):
        require("nnframe_leaky_pkg", "onnx", "exporting to ONNX")


def test_install_hint():
    assert install_hint("plot") == "pip install 'nnframe[plot]'"
    assert install_hint("mpi", upgrade=True) == "pip install -U 'nnframe[mpi]'"
    assert is_installed("json")
