"""Kernels, a plugin kind: the core's NumPy references, a plugin's faster version chosen
only when it imports and agrees, the switch back to the references, and the kit's check."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import numpy as np
import pytest
from typer.testing import CliRunner

import nnframe
from nnframe.cli import app
from nnframe.errors import ConfigError
from nnframe.speed import blocked as reference
from nnframe.speed import kernels
from nnframe.testing import check_kernel
from tests.fake_plugins import plugin_module

runner = CliRunner()
NAMES = {"adam_step", "adamw_step", "sgd_step", "rmsprop_step"}


@pytest.fixture(autouse=True)
def no_installed_plugins(monkeypatch):
    """Only the plugins a test registers: an installed nnframe-numba stays out."""
    monkeypatch.setenv("NNFRAME_LOAD_PLUGINS", "")
    kernels.forget()


def kernels_plugin(name: str, **functions) -> types.ModuleType:
    def register_kernels(register):
        for kernel_name, function in functions.items():
            register(kernel_name, function)

    return plugin_module(name, register_kernels=register_kernels)


def register(plugin: types.ModuleType, name: str) -> None:
    nnframe.get_registry().register_plugin(plugin, name, distribution=name)
    kernels.forget()


def fused_sgd(values, grads, velocity=None, *, lr, momentum=0.0, nesterov=False):
    """A correct SGD step in one expression per array (the stand-in for a compiled one)."""
    if velocity is None:
        values -= np.asarray(lr, values.dtype) * grads
        return
    velocity *= np.asarray(momentum, values.dtype)
    velocity += grads
    step = velocity * np.asarray(momentum, values.dtype) + grads if nesterov else velocity
    values -= np.asarray(lr, values.dtype) * step


def wrong_sgd(values, grads, velocity=None, *, lr, momentum=0.0, nesterov=False):
    """Forgets the learning rate."""
    values -= grads


def test_the_core_registers_a_reference_for_every_named_kernel():
    result = runner.invoke(app, ["list", "kernels", "--json"])
    rows = json.loads(result.stdout)
    assert {row["name"] for row in rows} == NAMES == set(kernels.SPECS)
    assert {row["distribution"] for row in rows} == {"nnframe"}
    assert nnframe.kernel("sgd_step") is reference.sgd_step


@pytest.mark.parametrize("name", sorted(NAMES))
def test_every_reference_passes_the_kit(name):
    report = check_kernel(name)
    assert report.passed and len(report.properties) >= 3


def test_a_plugin_kernel_that_agrees_is_used(capsys):
    register(kernels_plugin("fused", sgd_step=fused_sgd), "nnframe-fused")
    assert "also provides" not in capsys.readouterr().err  # no conflict: an alternative
    assert nnframe.kernel("sgd_step") is fused_sgd
    (choice,) = kernels.choices(("sgd_step",))
    assert (choice.provider, choice.reason) == ("nnframe-fused", "checked")
    assert choice.describe() == "sgd_step: nnframe-fused (checked)"
    assert nnframe.kernel("adam_step") is reference.adam_step  # it provides no other


def test_of_two_plugins_the_faster_kernel_is_used(monkeypatch):
    def other_sgd(*args, **kwargs):
        fused_sgd(*args, **kwargs)

    register(kernels_plugin("fused", sgd_step=fused_sgd), "nnframe-fused")
    register(kernels_plugin("other", sgd_step=other_sgd), "nnframe-other")
    monkeypatch.setattr(kernels, "_seconds",
                        lambda name, f: 1e-6 if f is other_sgd else 1e-3)
    assert nnframe.kernel("sgd_step") is other_sgd
    assert kernels.choices(("sgd_step",))[0].reason == (
        "checked, the fastest of nnframe-fused, nnframe-other")


def test_a_kernel_that_disagrees_is_skipped_with_a_warning(capsys):
    register(kernels_plugin("wrong", sgd_step=wrong_sgd), "nnframe-wrong")
    assert nnframe.kernel("sgd_step") is reference.sgd_step
    err = capsys.readouterr().err
    assert "kernel 'sgd_step' of nnframe-wrong is not used" in err
    assert "nnframe check nnframe-wrong" in err and "the reference" in err


def test_a_kernel_that_fails_to_import_is_skipped(capsys):
    def register_kernels(register):
        register("adam_step", "nnframe_no_such_module:adam_step")

    register(plugin_module("missing", register_kernels=register_kernels), "nnframe-missing")
    assert nnframe.kernel("adam_step") is reference.adam_step
    assert "could not be imported" in capsys.readouterr().err


def test_reference_mode_from_the_environment_and_from_fit(monkeypatch):
    calls = []

    def counted_sgd(*args, **kwargs):
        calls.append(1)
        fused_sgd(*args, **kwargs)

    register(kernels_plugin("fused", sgd_step=counted_sgd), "nnframe-fused")
    monkeypatch.setenv(kernels.KERNELS_ENV, "reference")
    assert nnframe.kernel("sgd_step") is reference.sgd_step
    monkeypatch.delenv(kernels.KERNELS_ENV)
    assert nnframe.kernel("sgd_step") is counted_sgd  # checked and chosen: calls made

    x = np.zeros((4, 2), np.float32)
    y = np.zeros((4, 1), np.float32)
    net = nnframe.Network([nnframe.layer("dense", 2, 1)]).use("mse", "sgd")
    calls.clear()
    net.fit(x, y, epochs=1, batch_size=2, verbose=0, kernels="reference")
    assert calls == []
    net.fit(x, y, epochs=1, batch_size=2, verbose=0)
    assert len(calls) == 2  # two batches through the plugin's kernel
    with pytest.raises(ConfigError, match="kernels must be one of auto, reference"):
        net.fit(x, y, epochs=1, verbose=0, kernels="fast")


def test_the_kit_names_the_array_and_the_numbers_of_a_wrong_kernel():
    report = check_kernel(wrong_sgd, name="sgd_step", raises=False)
    failure = report["agrees(sgd)"]
    assert not failure.passed
    assert "values[0] is" in failure.detail and "the reference" in failure.detail
    with pytest.raises(AssertionError, match="properties failed"):
        check_kernel(wrong_sgd, name="sgd_step")
    assert check_kernel(fused_sgd, name="sgd_step").passed


def test_the_kit_fails_a_kernel_that_returns_a_new_array():
    def copying(values, grads, velocity=None, *, lr, momentum=0.0, nesterov=False):
        return values - lr * grads

    report = check_kernel(copying, name="sgd_step", raises=False)
    assert "returns None" in report["agrees(sgd)"].detail


def test_nnframe_check_runs_the_kernel_check():
    result = runner.invoke(app, ["check", "adam_step", "--json"])
    assert result.exit_code == 0, result.stdout
    (report,) = json.loads(result.stdout)["components"]
    assert report["kind"] == "kernel" and report["passed"]


def test_the_optimizers_name_their_kernel():
    assert nnframe.optimizer("adam").kernel == "adam_step"
    assert nnframe.optimizer("adamw").kernel == "adamw_step"
    assert nnframe.optimizer("adam", amsgrad=True).kernel is None
    assert nnframe.optimizer("sgd", momentum=0.9).kernel == "sgd_step"
    assert nnframe.optimizer("rmsprop", centered=True).kernel is None


def test_listing_kernels_imports_no_kernel_module(tmp_path):
    """A plugin's kernel module (and so its dependencies) is imported on first use only."""
    package = tmp_path / "lazy_kernels"
    package.mkdir()
    (package / "__init__.py").write_text(
        "import nnframe\n\n@nnframe.hookimpl\ndef register_kernels(register):\n"
        "    register('adam_step', 'lazy_kernels.heavy:adam_step')\n")
    (package / "heavy.py").write_text(
        '"""Imported only on first use."""\nraise RuntimeError("imported too early")\n')
    code = (
        "import sys, nnframe\n"
        "import lazy_kernels\n"
        "registry = nnframe.get_registry()\n"
        "registry.register_plugin(lazy_kernels, 'lazy', distribution='lazy-kernels')\n"
        "names = [c.qualified_name for c in registry.components('kernel')]\n"
        "assert 'lazy-kernels:adam_step' in names, names\n"
        "assert 'lazy_kernels.heavy' not in sys.modules\n"
        "assert not any(m.startswith('numba') for m in sys.modules)\n"
        "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, check=False)
    assert done.stdout.strip() == "ok", done.stderr


def test_nnframe_train_says_which_kernel_it_runs(tmp_path, monkeypatch):
    from tests.test_cli_train import write_config

    config = write_config(tmp_path)
    result = runner.invoke(app, ["train", str(config), "--epochs", "1",
                                 "-o", str(tmp_path / "model.npz")])
    assert result.exit_code == 0, result.output
    optimizer = nnframe.load(tmp_path / "model.npz").optimizer.kernel
    assert (f"kernel: {optimizer}: nnframe (the reference, none other installed)"
            in result.stdout.splitlines())


# -- a plugin's own kernels (a layer's hot loop) -------------------------------------------

OWN = kernels.KernelSpec("double_into", "tests.test_kernels:double_into", (
    kernels.KernelCase("2-d", ("x", "out"), steps=1, make="tests.test_kernels:own_arguments"),
    kernels.KernelCase("one element", ("x", "out"), steps=1,
                       make="tests.test_kernels:own_arguments")))


def double_into(x, out, *, factor):
    """The reference of a plugin's own kernel: ``out = factor * x``."""
    np.multiply(x, factor, out=out)


def own_arguments(label, rng, dtype):
    """The kit's arrays for `OWN`: each case at its own shape, the output unset (NaN)."""
    shape = (3, 5) if label == "2-d" else (1,)
    return ([rng.standard_normal(shape).astype(dtype), np.full(shape, np.nan, dtype)],
            {"factor": 2.0})


@pytest.fixture
def declared(monkeypatch):
    """A clean table of plugin-declared kernels, and a plugin that declares `OWN`."""
    monkeypatch.setattr(kernels, "_DECLARED", {})

    def register_kernels(register):
        kernels.declare(OWN)
        register(OWN.name, OWN.reference)

    register(plugin_module("owner", register_kernels=register_kernels), "nnframe-owner")


def test_a_plugin_declares_its_own_kernel_and_registers_its_reference(declared):
    assert kernels.spec("double_into") is OWN
    assert nnframe.kernel("double_into") is double_into
    (choice,) = kernels.choices(("double_into",))
    assert (choice.provider, choice.reason) == ("nnframe-owner", "the reference, none other "
                                                                 "installed")
    report = check_kernel("double_into")  # the reference against itself, per case
    assert [p.name for p in report.properties] == ["imports", "agrees(2-d)",
                                                   "agrees(one element)"]


def test_another_plugins_version_of_a_plugin_kernel_is_checked_and_used(declared, capsys):
    def faster(x, out, *, factor):
        out[...] = x * factor

    def wrong(x, out, *, factor):  # leaves out untouched where the reference writes it
        out[:1] = x[:1] * factor

    register(kernels_plugin("wrong", double_into=wrong), "nnframe-wrong")
    assert nnframe.kernel("double_into") is double_into
    assert "kernel 'double_into' of nnframe-wrong is not used" in capsys.readouterr().err
    register(kernels_plugin("fast", double_into=faster), "nnframe-fast")
    assert nnframe.kernel("double_into") is faster
    assert check_kernel("nnframe-fast:double_into").passed
    assert not check_kernel("nnframe-wrong:double_into", raises=False).passed
    with kernels.preference("reference"):
        assert nnframe.kernel("double_into") is double_into


def test_a_kernel_whose_owner_is_not_installed_fails_its_check(monkeypatch):
    monkeypatch.setattr(kernels, "_DECLARED", {})
    register(kernels_plugin("stray", double_into=double_into), "nnframe-stray")
    report = check_kernel("nnframe-stray:double_into", raises=False)
    assert not report.passed
    assert "no kernel named 'double_into'" in report.properties[0].detail
    with pytest.raises(KeyError, match="no kernel named 'double_into'"):
        nnframe.kernel("double_into")


def test_declaring_a_taken_name_is_an_error(monkeypatch):
    monkeypatch.setattr(kernels, "_DECLARED", {})
    kernels.declare(OWN)
    kernels.declare(OWN)  # again, the same: harmless
    with pytest.raises(ValueError, match="declared already"):
        kernels.declare(kernels.KernelSpec("sgd_step", "somewhere:else", ()))
