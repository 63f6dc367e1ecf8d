"""The registry: built-ins as plugins, entry points, isolation, names and collisions."""

from __future__ import annotations

import subprocess
import sys

import pytest

import nnframe
from nnframe.core.kinds import KINDS
from nnframe.core.registry import Registry
from tests.fake_plugins import entry_point, layers_plugin, plugin_module


def make_registry(*entry_points, load_plugins=None) -> tuple[Registry, list[str]]:
    warnings: list[str] = []
    registry = Registry(entry_points=lambda: list(entry_points), warn=warnings.append,
                        load_plugins=load_plugins, environ={})
    return registry.load(), warnings


def test_builtins_are_registered_through_the_hooks_as_plugin_nnframe():
    registry, warnings = make_registry()
    names = {(c.kind, c.name) for c in registry.components() if c.plugin == "nnframe"}
    assert {("layer", "dense"), ("layer", "tanh"), ("loss", "mse"), ("optimizer", "sgd")} <= names
    (builtin,) = registry.plugins()
    assert builtin.builtin and builtin.status == "ok"
    assert builtin.hooks == [kind.hook for kind in KINDS]
    assert warnings == []


def test_entry_point_plugin_provides_components_with_provenance():
    registry, _ = make_registry(entry_point("nnframe-extra", layers_plugin("extra", "swish"),
                                            version="2.3"))
    component = registry.get("layer", "swish")
    assert (component.plugin, component.distribution, component.version) == (
        "nnframe_extra", "nnframe-extra", "2.3")
    assert registry.get("layer", "nnframe-extra:swish") is component
    assert registry.get("layer", "nnframe_extra:swish") is component  # PEP 503 spelling
    assert registry.get("layer", "nnframe:dense").builtin


def test_in_process_plugin_registration():
    registry, _ = make_registry()
    registry.register_plugin(layers_plugin("mine", "mylayer"), "mine")
    assert registry.get("layer", "mylayer").plugin == "mine"
    assert registry.get("layer", "mine:mylayer").name == "mylayer"


def test_plugin_that_fails_to_import_is_isolated():
    registry, warnings = make_registry(
        entry_point("broken-dist", ImportError("No module named 'missing_dependency'")),
        entry_point("good-dist", layers_plugin("good", "goodlayer")),
    )
    assert registry.get("layer", "goodlayer")
    assert registry.get("layer", "dense")
    broken = next(p for p in registry.plugins() if p.distribution == "broken-dist")
    assert broken.status == "error" and "missing_dependency" in broken.error
    assert len(warnings) == 1 and "broken-dist" in warnings[0] and "\n" not in warnings[0]


def test_plugin_whose_hook_raises_is_isolated_and_registers_nothing():
    def register_layers(register):
        register("half_done", nnframe.Layer)
        raise RuntimeError("boom")

    registry, warnings = make_registry(
        entry_point("raising", plugin_module("raising", register_layers=register_layers)))
    plugin = next(p for p in registry.plugins() if p.distribution == "raising")
    assert plugin.status == "error"
    assert "register_layers raised RuntimeError: boom" in plugin.error
    with pytest.raises(nnframe.UnknownComponentError, match="raising"):
        registry.get("layer", "half_done")
    assert warnings


def test_misspelt_hook_is_reported():
    module = plugin_module("typo", register_layer=lambda register: None)
    registry, warnings = make_registry(entry_point("typo-dist", module))
    plugin = next(p for p in registry.plugins() if p.distribution == "typo-dist")
    assert plugin.status == "error"
    assert "unknown hook 'register_layer'" in plugin.error
    assert "did you mean 'register_layers'" in plugin.error
    assert "register_layer" in warnings[0]


def test_hook_with_wrong_arguments_is_reported():
    module = plugin_module("badargs", register_layers=lambda register, extra: None)
    registry, _ = make_registry(entry_point("badargs", module))
    plugin = next(p for p in registry.plugins() if p.distribution == "badargs")
    assert plugin.status == "error" and "extra" in plugin.error


def test_same_name_from_two_third_parties_is_ambiguous():
    registry, _ = make_registry(entry_point("alpha", layers_plugin("alpha", "swish")),
                                entry_point("beta", layers_plugin("beta", "swish")))
    with pytest.raises(nnframe.AmbiguousComponentError) as info:
        registry.get("layer", "swish")
    message = str(info.value)
    assert "alpha:swish" in message and "beta:swish" in message
    assert registry.get("layer", "alpha:swish").distribution == "alpha"
    assert registry.get("layer", "beta:swish").distribution == "beta"


def test_builtin_keeps_its_name_and_the_collision_is_said():
    registry, warnings = make_registry(entry_point("shadow", layers_plugin("shadow", "dense")))
    assert registry.get("layer", "dense").builtin
    assert registry.get("layer", "shadow:dense").distribution == "shadow"
    assert any("shadow:dense" in w for w in warnings)


def test_unknown_name_suggests_close_matches_and_lists_what_is_available():
    registry, _ = make_registry()
    with pytest.raises(nnframe.UnknownComponentError) as info:
        registry.get("layer", "dens")
    message = str(info.value)
    assert "Did you mean 'dense'" in message
    assert "Available layers: " in message and "tanh" in message


def test_unknown_qualified_name():
    registry, _ = make_registry()
    with pytest.raises(nnframe.UnknownComponentError, match="nnframe:dense"):
        registry.get("layer", "nnframe:denze")


@pytest.mark.parametrize(
    ("setting", "expected"),
    [(None, {"one", "two"}), ("", set()), ("two", {"two"}), ("one, two", {"one", "two"})],
)
def test_load_plugins_setting(setting, expected):
    registry, _ = make_registry(entry_point("one", layers_plugin("one", "first")),
                                entry_point("two", layers_plugin("two", "second")),
                                load_plugins=setting)
    loaded = {p.distribution for p in registry.plugins() if not p.builtin}
    assert loaded == expected
    assert registry.get("layer", "dense")  # the built-in always loads


def test_load_plugins_environment_variable(monkeypatch):
    monkeypatch.setenv("NNFRAME_LOAD_PLUGINS", "")
    entry_points = [entry_point("one", layers_plugin("one", "first"))]
    registry = Registry(entry_points=lambda: entry_points, warn=lambda m: None).load()
    assert [p.name for p in registry.plugins()] == ["nnframe"]


def test_creating_with_wrong_arguments_names_the_component():
    registry, _ = make_registry()
    with pytest.raises(nnframe.ConfigError, match=r"layer 'dense'.*unexpected.*it accepts"):
        registry.create("layer", "dense", 2, 3, units=4)


def test_register_rejects_bad_names_and_duplicates():
    def register_layers(register):
        register("dup", nnframe.Layer)
        register("dup", nnframe.Layer)

    registry, _ = make_registry(entry_point("dups", plugin_module("dups",
                                                                  register_layers=register_layers)))
    plugin = next(p for p in registry.plugins() if p.distribution == "dups")
    assert plugin.status == "error" and "twice" in plugin.error


def test_public_builders_use_the_process_registry():
    assert type(nnframe.layer("dense", 2, 3)).__name__ == "Dense"
    assert type(nnframe.loss("mse")).__name__ == "MeanSquaredError"
    assert nnframe.optimizer("sgd", learning_rate=0.5).learning_rate == 0.5


def test_importing_nnframe_loads_no_plugin_module():
    code = (
        "import sys, nnframe\n"
        "assert 'nnframe.builtin_plugin' not in sys.modules, 'built-in plugin imported'\n"
        "assert not any(m.startswith('nnframe_') for m in sys.modules), 'plugin imported'\n"
        "from nnframe.core.registry import _registry\n"
        "assert _registry is None\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
