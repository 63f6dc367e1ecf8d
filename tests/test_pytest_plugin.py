"""The pytest plugin: one marker checks every component a distribution registers."""

from __future__ import annotations

import inspect

import pytest

from nnframe.core.registry import Registry
from tests import planted
from tests.test_cli import install_fake_distribution

pytest_plugins = ["pytester"]

CONTRACT_TEST = """
import pytest
from nnframe.testing import check_component

@pytest.mark.nnframe_components({distribution!r})
def test_contract(nnframe_component):
    check_component(nnframe_component)
"""


def test_marker_runs_one_test_per_component(pytester):
    pytester.makepyfile(CONTRACT_TEST.format(distribution="nnframe"))
    result = pytester.runpytest("-v", "-p", "no:cacheprovider")
    builtins = [c for c in Registry(entry_points=lambda: []).components() if c.builtin]
    result.assert_outcomes(passed=len(builtins))
    result.stdout.fnmatch_lines(["*test_contract?layer-dense? PASSED*",
                                 "*test_contract?optimizer-sgd? PASSED*"])


def test_marker_fails_a_planted_bug_by_property(pytester, monkeypatch, tmp_path):
    site = tmp_path / "site"
    install_fake_distribution(site, "nnframe-planted", "nnframe_planted",
                              inspect.getsource(planted))
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("NNFRAME_LOAD_PLUGINS", "nnframe-planted")
    pytester.makepyfile(CONTRACT_TEST.format(distribution="nnframe-planted"))
    result = pytester.runpytest("-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(["*test_contract?layer-square? FAILED*",
                                 "*gradient(input): FAILED (dE/dX?*: backward *, finite*",
                                 "*mean_over_batch: FAILED*"])


def test_misuse_is_reported_with_what_to_do(pytester):
    pytester.makepyfile(
        test_missing=CONTRACT_TEST.format(distribution="nnframe-missing"),
        test_unmarked="def test_x(nnframe_component):\n    pass\n",
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--continue-on-collection-errors")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines_random([
        "*no plugin of the distribution 'nnframe-missing' is loaded*",
        "*mark the test with @pytest.mark.nnframe_components*",
    ])


def test_plugin_module_does_not_import_nnframe():
    source = inspect.getsource(__import__("pytest_nnframe"))
    top_level = [line for line in source.splitlines() if line.startswith(("import", "from"))]
    assert top_level == ["from __future__ import annotations", "import pytest"]


@pytest.mark.parametrize("marker_line", ["nnframe_components(distribution)"])
def test_marker_is_registered(pytestconfig, marker_line):
    assert any(line.startswith(marker_line) for line in pytestconfig.getini("markers"))
