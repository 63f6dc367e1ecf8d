"""Composite layers: sequential, residual and parallel, seen through by parameters, state,
model files, summary, the kit, configs and error messages."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

import nnframe
from nnframe.config import ConfigFileError, parse_config
from nnframe.errors import ShapeError
from nnframe.testing import assert_layer_gradients, check_layer

if sys.version_info >= (3, 11):
    from tomllib import loads as toml_loads
else:  # pragma: no cover - Python 3.10
    from tomli import loads as toml_loads

L = nnframe.layer


def composite_network(dtype="float32"):
    return nnframe.Network([
        L("dense", output_size=6), L("tanh"),
        L("residual", layers=[{"type": "dense", "output_size": 6}, "tanh",
                              L("dense", output_size=6)]),
        L("parallel", branches=[[L("dense", output_size=3)],
                                [{"type": "dense", "output_size": 2}, "relu"], []]),
        L("sequential", layers=["tanh", {"type": "dense", "output_size": 3}]),
    ], dtype=dtype)


def test_gradients_through_every_composite_in_float64():
    rng = np.random.default_rng(0)
    for layer, shape in [
        (L("residual", layers=[L("dense", output_size=4), L("tanh"), L("dense", output_size=4)]),
         (3, 4)),
        (L("parallel", branches=[[L("dense", output_size=2)], [L("sigmoid")]], merge="concat"),
         (4,)),
        (L("parallel", branches=[[L("dense", output_size=4)], [L("tanh")], []], merge="add"),
         (4,)),
        (L("sequential", layers=[L("dense", output_size=5), L("relu"),
                                 L("dense", output_size=2)]), (4,)),
    ]:
        layer.build(shape, rng, np.dtype("float64"))
        for value in layer.params.values():
            value += 0.1 * rng.standard_normal(value.shape)
        ratios = assert_layer_gradients(layer, rng.standard_normal((5, *shape)), rng)
        assert set(ratios) == {"input", *layer.params}


def test_the_network_sees_inner_parameters_under_nested_keys():
    net = composite_network().build((4,), seed=0)
    keys = [p.key for p in net.parameters()]
    assert "2.0.weights" in keys and "2.2.bias" in keys
    assert "3.0.0.weights" in keys and "3.1.0.bias" in keys and "4.1.weights" in keys
    inner = net.layers[2].layers[0]
    assert np.shares_memory(inner.params["weights"], net.parameters().values)
    assert net.layers[2].params["0.weights"] is inner.params["weights"]


def test_a_composite_network_trains_saves_and_loads_bit_for_bit(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 0)
    net = composite_network().use("cross_entropy", "adam")
    history = net.fit(x, y, epochs=8, batch_size=16, seed=0, verbose=0)
    assert history["loss"][-1] < history["loss"][0]
    path = net.save(tmp_path / "c.npz")
    loaded = nnframe.load(path)
    np.testing.assert_array_equal(loaded.predict(x), net.predict(x))
    assert [type(layer).__name__ for layer in loaded.layers[2].layers] == [
        "Dense", "Tanh", "Dense"]
    # resuming continues identically
    for each in (net, loaded):
        each.fit(x, y, epochs=10, batch_size=16, initial_epoch=8, verbose=0)
    np.testing.assert_array_equal(loaded.predict(x), net.predict(x))


def test_model_files_keep_inner_layers_as_entries_of_their_own(tmp_path):
    from nnframe.modelfile.format import HEADER_KEY, read_header
    from nnframe.modelfile.npz import read_npz

    path = composite_network().build((4,), seed=0).save(tmp_path / "c.npz")
    header = read_header(path, read_npz(path)[HEADER_KEY])
    residual = header["layers"][2]
    assert residual["name"] == "residual" and "layers" not in residual["config"]
    assert [entry["name"] for entry in residual["layers"]] == ["dense", "tanh", "dense"]
    assert residual["layers"][0]["distribution"] == "nnframe"
    parallel = header["layers"][3]
    assert parallel["config"] == {"merge": "concat"}
    assert [[e["name"] for e in branch] for branch in parallel["branches"]] == [
        ["dense"], ["dense", "relu"], []]


def test_summary_shows_inner_layers_indented():
    lines = []
    composite_network().build((4,), seed=0).summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "\n2      residual" in text and "\n2.0      dense" in text
    assert "\n3.1.1    relu" in text


@pytest.mark.parametrize("name", ["sequential", "residual", "parallel"])
def test_the_kit_checks_each_composite_through_its_children(name):
    report = check_layer(name)
    assert report.passed, report.summary()
    assert any(p.name.startswith("gradient(0.") for p in report.properties)


def test_a_residual_body_that_changes_the_shape_is_named():
    net = nnframe.Network([L("dense", 3, 8), L("residual", layers=[L("dense", output_size=8),
                                                                   L("dense", output_size=4)])])
    with pytest.raises(ShapeError, match=r"layer 1 \(residual\): residual adds its input .* "
                       r"keep the shape \(8,\), but they give \(4,\) \(inner layer 1 \(dense\) "
                       r"outputs \(4,\)\)"):
        net.build((3,))


def test_add_branches_of_different_widths_are_named():
    net = nnframe.Network([L("parallel", branches=[[L("dense", output_size=4)],
                                                   [L("dense", output_size=3)]], merge="add")])
    with pytest.raises(ShapeError, match=r"branch 0 gives \(4,\) and branch 1 gives \(3,\) "
                       r"\(its last layer is branch 1 layer 0 \(dense\)\)"):
        net.build((5,))


def test_an_error_deep_inside_names_the_inner_layer():
    net = nnframe.Network([L("sequential", layers=[
        L("dense", output_size=4),
        L("residual", layers=[L("dense", output_size=4), L("dense", input_size=5,
                                                           output_size=4)])])])
    with pytest.raises(ShapeError, match=r"layer 0 \(sequential\): inner layer 1 \(residual\): "
                       r"inner layer 1 \(dense\): expected input of size 5, got 4"):
        net.build((3,))


CONFIG = """
[model]
layers = [
    {{ type = "flatten" }},
    {{ type = "dense", output_size = 8 }},
    {{ type = "residual", layers = [
        {{ type = "dense", output_size = 8 }},
        {{ type = "{inner}"{argument} }},
    ] }},
    {{ type = "parallel", merge = "concat", branches = [
        [{{ type = "dense", output_size = 3 }}],
        [{{ type = "tanh" }}],
    ] }},
    {{ type = "dense", output_size = 10 }},
]
[loss]
type = "cross_entropy"
[optimizer]
type = "adam"
[data]
dataset = "mnist_sample"
subset = 64
test_subset = 32
[train]
epochs = 1
"""


def config(inner="relu", argument=""):
    return toml_loads(textwrap.dedent(CONFIG.format(inner=inner, argument=argument)))


def test_nested_tables_in_a_config_build_and_train():
    parsed = parse_config(config())
    network = parsed.build_network()
    assert [type(layer).__name__ for layer in network.layers[2].layers] == ["Dense", "ReLU"]


@pytest.mark.parametrize(("inner", "argument", "key", "message"), [
    ("rleu", "", "model.layers[2].layers[1].type", "unknown layer 'rleu' (did you mean"),
    ("dense", ", ouput_size = 8", "model.layers[2].layers[1].ouput_size",
     "unknown argument for layer 'dense'"),
    ("dense", ", output_size = 5", "model.layers[2].layers[1]",
     "keep the shape (8,), but they give (5,)"),
])
def test_config_problems_inside_composites_name_the_path(inner, argument, key, message):
    with pytest.raises(ConfigFileError) as info:
        parse_config(config(inner, argument), source="net.toml")
    assert f"net.toml: {key}: " in str(info.value) and message in str(info.value)
