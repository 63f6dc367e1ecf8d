"""``nnframe check``: a table (or JSON) of every property, exit 1 on any failure."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from nnframe.cli import app, main
from nnframe.core import registry
from tests import planted
from tests.fake_plugins import entry_point

runner = CliRunner()


@pytest.fixture
def with_planted_plugin():
    """The planted bugs installed as the distribution nnframe-planted, and a broken plugin."""
    registry.reset_registry(registry.Registry(
        entry_points=lambda: [entry_point("nnframe-planted", planted, "planted")],
        warn=lambda message: None))


def test_check_all_passes_on_the_builtins_and_installed_plugins():
    result = runner.invoke(app, ["check", "--all"])
    assert result.exit_code == 0, result.stdout
    assert "nnframe:dense" in result.stdout and "nnframe:dropout" in result.stdout
    assert "FAIL" not in result.stdout
    assert re.search(r"(\d+) components checked: \1 passed, 0 failed", result.stdout)


def test_check_names_a_failing_property_and_exits_1(with_planted_plugin):
    result = runner.invoke(app, ["check", "square", "sum_squared_error", "tanh"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any("gradient(input)" in line and "FAIL" in line and "dE/dX[" in line
               for line in lines), result.stdout
    assert any("mean_over_batch" in line and "FAIL" in line for line in lines)
    # tanh names the layer and its ONNX converter: both pass
    assert "4 components checked: 2 passed, 2 failed" in result.stdout


def test_check_json_lists_every_property(with_planted_plugin):
    result = runner.invoke(app, ["check", "nnframe-planted:square", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["passed"] is False and data["plugin_errors"] == []
    (report,) = data["components"]
    assert report["component"] == "nnframe-planted:square"
    failed = [p for p in report["properties"] if not p["passed"]]
    assert [p["name"] for p in failed] == ["gradient(input)"]
    # error over tolerance: half the true gradient is 10^5 times the tolerance
    assert failed[0]["error"] > 1e5 and failed[0]["where"].startswith("dE/dX[")


def test_check_a_distribution_checks_each_of_its_components(with_planted_plugin):
    result = runner.invoke(app, ["check", "nnframe-planted", "--json"])
    names = [r["component"] for r in json.loads(result.stdout)["components"]]
    assert sorted(names) == ["nnframe-planted:badly_hinted", "nnframe-planted:scale",
                             "nnframe-planted:square", "nnframe-planted:sum_squared_error"]


def test_one_bad_component_does_not_stop_check_all(with_planted_plugin):
    result = runner.invoke(app, ["check", "--all", "--json"])
    assert result.exit_code == 1
    reports = {r["component"]: r for r in json.loads(result.stdout)["components"]}
    assert reports["nnframe:dense"]["passed"]
    assert [p["name"] for p in reports["nnframe-planted:badly_hinted"]["properties"]] == [
        "check_hints"]


def test_a_broken_plugin_fails_check_all():
    registry.reset_registry(registry.Registry(
        entry_points=lambda: [entry_point("nnframe-broken", ImportError("no numpy 3"))],
        warn=lambda message: None))
    result = runner.invoke(app, ["check", "--all", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert all(report["passed"] for report in data["components"])
    (problem,) = data["plugin_errors"]
    assert "nnframe-broken" in problem and "no numpy 3" in problem


@pytest.mark.parametrize(("args", "message"), [
    (["check"], "give component or distribution names, or --all"),
    (["check", "tanh", "--all"], "not both"),
    (["check", "tahn"], "Did you mean 'tanh'?"),
])
def test_check_usage_errors_exit_2_with_one_line(args, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
