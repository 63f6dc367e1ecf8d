"""The command line, through Typer's runner and through ``python -m nnframe``."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import nnframe
import nnframe.cli
from nnframe.cli import COMMANDS, app, build_app, main
from nnframe.core import registry
from nnframe.core.kinds import KINDS
from tests.fake_plugins import entry_point, layers_plugin

runner = CliRunner()


def run_module(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnframe", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})})


def install_fake_distribution(site: Path, dist: str, module: str, source: str,
                              version: str = "0.1") -> None:
    """A real installed distribution, as pip lays it out: a module and its dist-info."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(source)
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[nnframe]\n{module} = {module}\n")


def test_list_json_shows_the_builtins_with_plugin_nnframe():
    result = runner.invoke(app, ["list", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    builtins = {(r["kind"], r["name"]) for r in rows if r["plugin"] == "nnframe"}
    assert {("layer", "dense"), ("layer", "tanh"), ("loss", "mse"),
            ("optimizer", "sgd")} <= builtins
    assert set(rows[0]) == {"kind", "name", "plugin", "distribution", "version", "summary"}
    assert all(r["summary"] for r in rows if r["plugin"] == "nnframe")


def test_list_one_kind_as_a_table():
    result = runner.invoke(app, ["list", "losses"])
    assert result.exit_code == 0
    assert "mse" in result.stdout and "dense" not in result.stdout


def test_plugins_json_keys():
    result = runner.invoke(app, ["plugins", "--json"])
    assert result.exit_code == 0
    (builtin,) = [p for p in json.loads(result.stdout) if p["builtin"]]
    assert builtin == {
        "name": "nnframe", "distribution": "nnframe", "version": builtin["version"],
        "hooks": [f"register_{kind.plural}" for kind in KINDS],
        "builtin": True, "status": "ok", "error": None,
    }


def test_plugins_table_shows_a_broken_plugin():
    warnings: list[str] = []
    registry.reset_registry(registry.Registry(
        entry_points=lambda: [entry_point("broken-dist", ImportError("no numpy 3"))],
        warn=warnings.append))
    result = runner.invoke(app, ["plugins"])
    assert result.exit_code == 0
    assert "broken-dist" in result.stdout and "error" in result.stdout


def test_list_table_shows_third_party_provenance():
    registry.reset_registry(registry.Registry(
        entry_points=lambda: [entry_point("nnframe-extra", layers_plugin("x", "swish"), "x")],
        warn=lambda m: None))
    result = runner.invoke(app, ["list", "layers"])
    assert "swish" in result.stdout and "nnframe-extra" in result.stdout


def test_the_command_table_is_the_apps_command_list():
    assert [(c.name, c.callback) for c in app.registered_commands] == list(COMMANDS.items())
    assert list(typer.main.get_command(app).commands) == list(COMMANDS)


def test_help_lists_the_commands_in_the_tables_order_with_their_docstrings(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = capsys.readouterr().out.split("Commands:\n", 1)[1].splitlines()
    assert [line.split()[0] for line in listed if line.strip()] == list(COMMANDS)
    for line, function in zip(listed, COMMANDS.values(), strict=True):
        summary = line.split(maxsplit=1)[1].removesuffix("...")
        assert function.__doc__.replace("\n", " ").startswith(summary)


def test_importing_a_command_module_registers_nothing():
    for info in pkgutil.iter_modules(nnframe.cli.__path__):
        module = importlib.import_module(f"nnframe.cli.{info.name}")
        apps = [name for name, value in vars(module).items() if isinstance(value, typer.Typer)]
        assert apps == [], f"nnframe.cli.{info.name} holds a Typer application: {apps}"
    first, second = build_app(), build_app()  # each built afresh from the table alone
    assert first is not second
    assert [c.name for c in first.registered_commands] == list(COMMANDS)
    assert [c.name for c in second.registered_commands] == list(COMMANDS)


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("nnframe ")


def test_python_dash_m_list_json():
    result = run_module("list", "--json")
    assert result.returncode == 0, result.stderr
    assert {"dense", "tanh", "mse", "sgd"} <= {r["name"] for r in json.loads(result.stdout)}


def test_python_dash_m_help_and_no_arguments():
    for args in (["--help"], []):
        result = run_module(*args)
        assert result.returncode == 0
        assert "list" in result.stdout and "plugins" in result.stdout


@pytest.mark.parametrize("args", [["list", "gadgets"], ["no-such-command"], ["list", "--jsn"]])
def test_usage_errors_are_one_line_and_exit_2(args):
    result = run_module(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("nnframe: error:")
    assert "Traceback" not in result.stderr


def test_user_errors_from_nnframe_exit_2_and_debug_shows_the_traceback(monkeypatch, capsys):
    from nnframe.errors import DataError

    def explode(*args, **kwargs):
        raise DataError("the data is bad; fix it")

    monkeypatch.setattr("nnframe.core.registry.get_registry", explode)
    with pytest.raises(SystemExit) as info:
        main(["list"])
    assert info.value.code == 2
    assert capsys.readouterr().err == "nnframe: error: the data is bad; fix it\n"
    with pytest.raises(DataError):
        main(["--debug", "list"])


def test_broken_installed_plugin_does_not_break_the_cli(tmp_path):
    site = tmp_path / "site"
    install_fake_distribution(site, "nnframe-broken", "nnframe_broken",
                              "import a_module_that_does_not_exist\n")
    install_fake_distribution(site, "nnframe-fine", "nnframe_fine", (
        "import nnframe\n"
        "from nnframe.layers.activations import Tanh\n"
        "class Fine(Tanh):\n    '''A fine layer.'''\n"
        "@nnframe.hookimpl\n"
        "def register_layers(register):\n    register('fine', Fine)\n"), version="1.2")
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}

    listing = run_module("list", "--json", env=env)
    assert listing.returncode == 0
    rows = {r["name"]: r for r in json.loads(listing.stdout)}
    assert rows["fine"]["distribution"] == "nnframe-fine" and rows["fine"]["version"] == "1.2"
    assert "dense" in rows
    warning = [line for line in listing.stderr.splitlines() if "nnframe-broken" in line]
    assert len(warning) == 1 and "a_module_that_does_not_exist" in warning[0]

    plugins = run_module("plugins", "--json", env=env)
    assert plugins.returncode == 0
    broken = next(p for p in json.loads(plugins.stdout) if p["distribution"] == "nnframe-broken")
    assert broken["status"] == "error"
    assert "a_module_that_does_not_exist" in broken["error"]

    only_fine = run_module("plugins", "--json", env={**env, "NNFRAME_LOAD_PLUGINS": "nnframe-fine"})
    assert {p["distribution"] for p in json.loads(only_fine.stdout)} == {"nnframe", "nnframe-fine"}
    assert only_fine.stderr == ""


def test_help_imports_no_plugin_module(tmp_path):
    site = tmp_path / "site"
    install_fake_distribution(site, "nnframe-loud", "nnframe_loud",
                              "raise SystemExit('imported at --help')\n")
    env = {"PYTHONPATH": str(site)}
    result = run_module("--help", env=env)
    assert result.returncode == 0 and "imported" not in result.stderr


def test_help_and_version_import_no_plugin_module_but_list_does(tmp_path):
    """Discovery is lazy. A plugin whose import leaves a mark shows who imports it."""
    site = tmp_path / "site"
    mark = tmp_path / "imported"
    source = (f"from pathlib import Path\nPath({str(mark)!r}).write_text('yes')\n"
              "import nnframe\n\n@nnframe.hookimpl\ndef register_layers(register):\n    pass\n")
    install_fake_distribution(site, "nnframe-marker", "nnframe_marker", source)
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    for args in (["--help"], ["--version"], ["list", "--help"]):
        result = run_module(*args, env=env)
        assert result.returncode == 0, result.stderr
        assert not mark.exists(), f"nnframe {' '.join(args)} imported a plugin module"
    result = run_module("list", env=env)
    assert result.returncode == 0, result.stderr
    assert mark.exists(), "nnframe list did not load the plugin: the check above proves nothing"


def test_list_piped_shows_whole_names_at_any_width():
    result = subprocess.run([sys.executable, "-m", "nnframe", "list"], capture_output=True,
                            text=True, env={**os.environ, "COLUMNS": "60"}, check=True)
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    names = {row[1] for row in rows}
    assert {"binary_cross_entropy", "reduce_on_plateau", "model_checkpoint"} <= names
    assert "…" not in result.stdout and "..." not in result.stdout.split("summary")[0]


def test_unknown_names_list_the_kind_in_its_plural():
    with pytest.raises(nnframe.UnknownComponentError, match="Available losses: "):
        nnframe.loss("mes")
