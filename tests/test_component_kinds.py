"""One table of kinds: every kind has its hook, is listed, shown, checked and built by name;
factories named lazily are imported only when first used."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import attrs
import numpy as np
import pytest
from typer.testing import CliRunner

import nnframe
from nnframe.cli import app
from nnframe.core import hookspecs, registry
from nnframe.core.kinds import KIND_NAMES, KINDS
from nnframe.errors import PluginError, UnknownComponentError
from tests.fake_plugins import entry_point, plugin_module

runner = CliRunner()


def test_every_kind_has_a_hook_specification():
    specs = [name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name),
                                                       "nnframe_spec")]
    assert sorted(specs) == sorted(kind.hook for kind in KINDS)
    assert KIND_NAMES == ("layer", "loss", "optimizer", "initializer", "metric", "schedule",
                          "callback", "dataset", "converter", "kernel")


def test_nnframe_list_shows_all_nine_kinds():
    result = runner.invoke(app, ["list", "--json"])
    rows = json.loads(result.stdout)
    assert {row["kind"] for row in rows} == set(KIND_NAMES)
    for kind in KINDS:
        one = runner.invoke(app, ["list", kind.plural, "--json"])
        assert {row["kind"] for row in json.loads(one.stdout)} == {kind.name}


def test_nnframe_show_finds_every_kind():
    for name, kind in [("cosine", "schedule"), ("f1", "metric"), ("he_normal", "initializer"),
                       ("csv_logger", "callback"), ("mnist_sample", "dataset"),
                       ("flatten", "converter")]:
        result = runner.invoke(app, ["show", name])
        assert result.exit_code == 0 and f"{name} ({kind})" in result.stdout


def test_builders_for_every_kind():
    assert nnframe.metric("top_k_accuracy", k=3).name == "top_3_accuracy"
    assert nnframe.schedule("step", step_size=2).step_size == 2
    assert nnframe.initializer("constant", value=0.5)((2,), 1, 1, None, np.float32)[0] == 0.5
    assert isinstance(nnframe.callback("early_stopping"), nnframe.EarlyStopping)
    assert nnframe.dataset("xor").sample_shape == (2,)
    assert nnframe.create("loss", "mse").get_config() == {}
    with pytest.raises(UnknownComponentError, match=r"Available schedules: .*cosine"):
        nnframe.schedule("cosin")


def test_a_plugin_registers_every_kind_and_its_components_work():
    @attrs.define(eq=False)
    class Halving(nnframe.Schedule):
        """Half the rate from the second epoch on."""

        def rate(self, step):
            return self.base_learning_rate * (0.5 if self.epoch_of(step) else 1.0)

    def register_schedules(register):
        register("halving", Halving)

    def register_initializers(register):
        register("ones", lambda: nnframe.initializer("constant", value=1.0))

    nnframe.get_registry().register_plugin(plugin_module(
        "kinds", register_schedules=register_schedules,
        register_initializers=register_initializers), "kinds-plugin")
    dense = nnframe.layer("dense", 2, 2, init="ones")
    net = nnframe.Network([dense]).use("mse", nnframe.optimizer("sgd", learning_rate=0.1))
    net.build((2,), seed=0)
    assert np.all(dense.params["weights"] == 1.0)
    rates = []

    class Spy(nnframe.Callback):
        def on_batch_end(self, batch, logs):
            rates.append(self.network.optimizer.learning_rate)

    x = np.zeros((4, 2), np.float32)
    net.fit(x, x, epochs=2, batch_size=2, schedule="halving", callbacks=[Spy()], verbose=0)
    assert rates == [0.1, 0.1, 0.05, 0.05]


def test_a_misspelt_hook_of_a_new_kind_is_reported():
    warnings = []
    table = registry.Registry(
        entry_points=lambda: [entry_point("typo-dist", plugin_module(
            "typo", register_metric=lambda register: None))],
        warn=warnings.append)
    (plugin,) = [p for p in table.plugins() if p.name == "typo_dist"]
    assert plugin.status == "error" and "did you mean 'register_metrics'" in plugin.error


def test_lazy_factories_are_imported_on_first_use_only():
    def register_layers(register):
        register("lazy_tanh", "nnframe.layers.activations:Tanh")
        register("missing", "nnframe.no_such_module:Thing", summary="Never importable.")

    table = registry.Registry(entry_points=lambda: [
        entry_point("lazy-dist", plugin_module("lazy", register_layers=register_layers))])
    lazy = table.get("layer", "lazy_tanh")
    assert lazy.summary.startswith("Hyperbolic tangent")
    assert table.get("layer", "missing").summary == "Never importable."
    assert type(table.create("layer", "lazy_tanh")).__name__ == "Tanh"
    with pytest.raises(PluginError, match=r"could not be imported from "
                       r"'nnframe.no_such_module:Thing'.*ModuleNotFoundError"):
        table.create("layer", "missing")


@pytest.mark.parametrize("factory", ["no_colon", "bad module:Name", 42])
def test_a_bad_lazy_factory_disables_the_plugin(factory):
    warnings = []

    def register_layers(register):
        register("thing", factory)

    table = registry.Registry(
        entry_points=lambda: [entry_point("bad-dist", plugin_module(
            "bad", register_layers=register_layers))], warn=warnings.append)
    (plugin,) = [p for p in table.plugins() if p.name == "bad_dist"]
    assert plugin.status == "error" and "factory for layer 'thing'" in plugin.error


def test_a_name_with_a_trailing_newline_is_refused():
    def register_layers(register):
        register("nl\n", "nnframe.layers.activations:Tanh")

    table = registry.Registry(entry_points=lambda: [
        entry_point("nl-dist", plugin_module("nl", register_layers=register_layers))],
        warn=lambda message: None)
    (plugin,) = [p for p in table.plugins() if p.name == "nl_dist"]
    assert plugin.status == "error" and "invalid layer name 'nl\\n'" in plugin.error


def test_listing_imports_no_component_module_and_not_numpy():
    code = ("import sys, nnframe.cli, json; from nnframe.core.registry import get_registry; "
            "r = get_registry(); [c.summary for c in r.components()]; "
            "print(json.dumps(sorted(m for m in sys.modules if m == 'numpy' "
            "or m.startswith(('nnframe.layers', 'nnframe.losses', 'nnframe.optimizers', "
            "'nnframe.metrics', 'nnframe.schedules', 'nnframe_conv.conv2d')))))")
    env = {**os.environ, "NNFRAME_LOAD_PLUGINS": "nnframe-conv"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, check=True)
    assert json.loads(result.stdout) == []


@pytest.mark.parametrize(("kind", "returned", "lacks"), [
    ("loss", "not a loss", "forward, backward"),
    ("optimizer", None, "learning_rate, step"),
    ("layer", 42, "build, output_shape"),
])
def test_a_factory_returning_garbage_is_named(kind, returned, lacks):
    def register(register):
        register("broken", lambda: returned)

    hook = f"register_{'losses' if kind == 'loss' else kind + 's'}"
    nnframe.get_registry().register_plugin(plugin_module("garbage", **{hook: register}),
                                           "garbage", distribution="garbage-dist")
    with pytest.raises(PluginError, match=rf"{kind} 'broken' of garbage-dist .*its factory "
                       rf"returned .* which is not a {kind}: it lacks {lacks}"):
        nnframe.create(kind, "broken")
    net = nnframe.Network([nnframe.layer("dense", 2, 1)])
    if kind != "layer":
        with pytest.raises(PluginError, match="its factory returned"):
            net.use("broken" if kind == "loss" else "mse",
                    "broken" if kind == "optimizer" else None)
