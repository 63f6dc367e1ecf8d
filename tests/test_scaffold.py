"""``nnframe new-plugin``: the scaffold installs, passes its own tests and ``nnframe check``."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from nnframe.cli import main
from nnframe.core import registry
from nnframe.errors import ConfigError
from nnframe.testing import check_distribution
from nnframe.testing.scaffold import new_plugin

FILES = {"pyproject.toml", "README.md", "src/demo_plugin/__init__.py",
         "src/demo_plugin/plugin.py", "tests/test_plugin.py"}


def written(folder):
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_new_plugin_writes_a_complete_distribution(tmp_path):
    folder = new_plugin("demo-plugin", tmp_path)
    assert folder == tmp_path / "demo-plugin"
    assert written(folder) == FILES
    pyproject = (folder / "pyproject.toml").read_text()
    assert 'name = "demo-plugin"' in pyproject
    assert '[project.entry-points.nnframe]\ndemo_plugin = "demo_plugin.plugin"' in pyproject
    assert 'packages = ["src/demo_plugin"]' in pyproject
    for path in folder.rglob("*.py"):
        compile(path.read_text(), str(path), "exec")  # every template filled into valid Python
        assert "$" not in path.read_text()
    assert 'nnframe_components(DISTRIBUTION)' in (folder / "tests/test_plugin.py").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_the_generated_components_pass_the_kit(tmp_path):
    folder = new_plugin("demo-plugin", tmp_path)
    spec = importlib.util.spec_from_file_location(
        "demo_plugin_under_test", folder / "src/demo_plugin/plugin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    registry.reset_registry(registry.Registry(entry_points=lambda: []))
    registry.get_registry().register_plugin(module, "demo_plugin", distribution="demo-plugin")
    reports = check_distribution("demo-plugin")
    assert sorted(r.component for r in reports) == [
        "demo-plugin:adagrad", "demo-plugin:log_cosh", "demo-plugin:swish"]


@pytest.mark.parametrize(("name", "message"), [
    ("9lives", "invalid plugin name"),
    ("my plugin", "invalid plugin name"),
    ("json", "already importable"),
    ("class", "cannot be a package name"),
])
def test_bad_names_are_refused(tmp_path, name, message):
    with pytest.raises(ConfigError, match=message):
        new_plugin(name, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_left_alone(tmp_path, capsys):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "mine.txt").write_text("keep me")
    with pytest.raises(SystemExit) as info:
        main(["new-plugin", "demo", "--dir", str(tmp_path)])
    assert info.value.code == 2
    assert "already exists" in capsys.readouterr().err
    assert written(tmp_path / "demo") == {"mine.txt"}


def new_plugin_error(capsys, *args: str) -> str:
    """The one error line of `nnframe new-plugin ARGS`, which must exit 2."""
    with pytest.raises(SystemExit) as info:
        main(["new-plugin", *args])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert info.value.code == 2 and len(lines) == 1, err
    assert lines[0].startswith("nnframe: error: ") and "internal error" not in err
    return lines[0]


def test_an_overlong_name_is_refused_in_one_line(tmp_path, capsys):
    line = new_plugin_error(capsys, "a" * 300, "--dir", str(tmp_path))
    assert "(300 characters): a plugin name has at most 100" in line
    assert len(line) < 200 and list(tmp_path.iterdir()) == []


def test_a_dangling_symlink_at_the_target_is_refused_in_one_line(tmp_path, capsys):
    (tmp_path / "demo").symlink_to(tmp_path / "nowhere")
    line = new_plugin_error(capsys, "demo", "--dir", str(tmp_path))
    assert "demo is a broken symbolic link" in line and "remove it" in line
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]  # only the link, no staging


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="needs a user that file permissions apply to (not root)")
def test_a_read_only_dir_is_refused_in_one_line(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        line = new_plugin_error(capsys, "demo", "--dir", str(folder))
    finally:
        folder.chmod(0o755)
    assert f"cannot create {folder / 'demo'}: {folder} is not writable" in line


def test_file_system_errors_while_writing_are_one_line(tmp_path, capsys, monkeypatch):
    """As root a read-only directory is writable, so the refusal of the file system is
    simulated where it happens: creating the staging folder, and writing into it."""
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    with monkeypatch.context() as patch:
        patch.setattr(tempfile, "mkdtemp", refuse)
        line = new_plugin_error(capsys, "demo", "--dir", str(tmp_path))
    assert "is not writable (Permission denied); choose another --dir" in line
    with monkeypatch.context() as patch:
        patch.setattr(os, "rename", lambda *a: refuse())
        line = new_plugin_error(capsys, "demo", "--dir", str(tmp_path))
    assert "cannot create" in line and "Permission denied; nothing was written" in line
    assert list(tmp_path.iterdir()) == []  # the staging folder was removed


@pytest.mark.slow
def test_scaffold_installs_and_passes_its_tests_and_nnframe_check(tmp_path):
    """pip-installs the scaffold (no network: --no-deps, the build backend from this
    environment) into a folder on PYTHONPATH, then runs its tests and `nnframe check`."""
    subprocess.run([sys.executable, "-m", "nnframe", "new-plugin", "demo", "--dir",
                    str(tmp_path)], check=True, capture_output=True)
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--no-build-isolation", "--target", str(site), str(tmp_path / "demo")],
        capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    env.pop("NNFRAME_LOAD_PLUGINS", None)

    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "demo")],
        capture_output=True, text=True, env=env, cwd=tmp_path)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "4 passed" in tests.stdout

    check = subprocess.run([sys.executable, "-m", "nnframe", "check", "--all"],
                           capture_output=True, text=True, env=env)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "layer demo:swish" in check.stdout and "optimizer demo:adagrad" in check.stdout
