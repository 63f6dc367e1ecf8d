"""Whatever factory a plugin registers, what it builds is saved and rebuilt under its name;
a component whose config does not rebuild it is refused by saving and fails the kit."""

from __future__ import annotations

import attrs
import numpy as np
import pytest

import nnframe
from nnframe.errors import ModelFileError
from nnframe.testing import check_layer
from tests.fake_plugins import plugin_module


@attrs.define(eq=False)
class Shift(nnframe.Layer):
    """y = x + amount."""

    amount: float = 1.0

    def forward(self, x, training=False):
        return x + self.amount

    def backward(self, grad_output):
        return grad_output


def shifted(amount: float = 1.0) -> Shift:
    """A factory function, as a plugin may register instead of a class."""
    return Shift(amount)


class Scaled(nnframe.Layer):
    """A plain subclass whose constructor keeps ``factor`` under another name."""

    def __init__(self, factor: float = 2.0) -> None:
        super().__init__()
        self.f = factor

    def forward(self, x, training=False):
        return x * self.f

    def backward(self, grad_output):
        return grad_output * self.f


class Doubled(Scaled):
    """Keeps the argument under its own name, but transformed: config gives 2x."""

    def __init__(self, factor: float = 2.0) -> None:
        super().__init__(factor)
        self.factor = factor * 2


@pytest.fixture(autouse=True)
def registered():
    def register_layers(register):
        register("shifted", shifted)
        register("scaled", Scaled)
        register("doubled", Doubled)

    nnframe.get_registry().register_plugin(
        plugin_module("identity_tests", register_layers=register_layers), "identity-tests")


def test_a_layer_built_by_a_factory_function_saves_and_loads(tmp_path):
    net = nnframe.Network([nnframe.layer("dense", 2, 3), nnframe.layer("shifted", amount=0.5)])
    net.build((2,), seed=0)
    loaded = nnframe.load(net.save(tmp_path / "m.npz"))
    assert isinstance(loaded.layers[1], Shift) and loaded.layers[1].amount == 0.5
    x = np.ones((2, 2), np.float32)
    np.testing.assert_array_equal(loaded.predict(x), net.predict(x))
    # and again: the loaded layer is known by the name it was loaded under
    again = nnframe.load(loaded.save(tmp_path / "again.npz"))
    np.testing.assert_array_equal(again.predict(x), net.predict(x))


def test_a_config_that_cannot_rebuild_its_layer_is_refused_and_nothing_is_written(tmp_path):
    net = nnframe.Network([nnframe.layer("scaled", 3.0)]).build((2,), seed=0)
    with pytest.raises(ModelFileError, match=r"layer 0 \(scaled from identity-tests\).*"
                       "keeps its constructor argument 'factor' under another name"):
        net.save(tmp_path / "m.npz")
    doubled = nnframe.Network([nnframe.layer("doubled", 3.0)]).build((2,), seed=0)
    with pytest.raises(ModelFileError, match=r"rebuilt from its config \{\"factor\": 6.0\}, "
                       r"its own config is \{\"factor\": 12.0\}"):
        doubled.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


def test_the_kit_fails_a_config_that_cannot_rebuild_its_layer():
    assert "keeps its constructor argument 'factor'" in check_layer(
        Scaled, (3,), raises=False)["config_roundtrip"].detail
    report = check_layer("doubled", (3,), raises=False)
    assert [f.name for f in report.failures] == ["config_roundtrip", "model_file_roundtrip"]
    assert 'gave {"factor": 4.0}' in report["config_roundtrip"].detail


def test_changed_arguments_expose_a_config_the_default_hides():
    @attrs.define(eq=False)
    class Forgets(nnframe.Layer):
        amount: float = 1.0
        _amount: float = attrs.field(init=False, default=None)

        def __attrs_post_init__(self):
            self._amount = self.amount

        def get_config(self):
            return {}  # as if every argument were at its default

        def forward(self, x, training=False):
            return x + self._amount

        def backward(self, grad_output):
            return grad_output

    report = check_layer(Forgets, (3,), raises=False)
    assert [f.name for f in report.failures] == ["config_roundtrip"]
    assert "made with {'amount': 0.75}" in report["config_roundtrip"].detail


def test_builtin_optimizer_settings_round_trip_and_a_bad_one_is_refused(tmp_path):
    @attrs.define(eq=False)
    class Forgetful(type(nnframe.optimizer("sgd"))):
        def get_config(self):
            return {"learning_rate": self.learning_rate}  # forgets momentum

    def register_optimizers(register):
        register("forgetful", Forgetful)

    nnframe.get_registry().register_plugin(
        plugin_module("forgetful", register_optimizers=register_optimizers), "forgetful")
    net = nnframe.Network([nnframe.layer("dense", 2, 1)]).build((2,), seed=0)
    net.use("mse", nnframe.optimizer("forgetful", learning_rate=0.1, momentum=0.9))
    with pytest.raises(ModelFileError, match=r"the optimizer \(forgetful\).*its momentum is "
                       r"0.0 instead of 0.9"):
        net.save(tmp_path / "m.npz")
