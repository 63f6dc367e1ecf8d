"""The TOML config validator: good configs pass, bad ones report every problem at once."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from nnframe.config import ConfigFileError, load_config, load_data, parse_config
from nnframe.core import registry
from nnframe.errors import ConfigError
from tests.fake_plugins import entry_point, layers_plugin

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

GOOD = """
[model]
layers = [
    { type = "dense", output_size = 8 },
    { type = "tanh" },
    { type = "dense", output_size = 1 },
    { type = "tanh" },
]
[loss]
type = "mse"
[optimizer]
type = "sgd"
learning_rate = 0.1
[data]
dataset = "xor"
[train]
epochs = 3
batch_size = 2
seed = 1
"""


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigFileError) as info:
        load_config(path)
    return [p.removeprefix(f"{path}: ") for p in info.value.problems]


@pytest.mark.parametrize("name", ["xor.toml", "mnist_seed.toml", "mnist_mlp.toml"])
def test_the_examples_are_valid(name):
    config = load_config(EXAMPLES / name)
    assert config.train.epochs >= 1 and config.layers


def test_the_cnn_example_is_valid_when_nnframe_conv_is_installed():
    names = {c.name for c in registry.get_registry().components("layer")}
    if "conv2d" not in names:
        pytest.skip("nnframe-conv is not installed (nox -s tests installs plugins/*)")
    layers = load_config(EXAMPLES / "mnist_cnn.toml").layers
    assert [spec.name for spec in layers[:3]] == ["conv2d", "relu", "maxpool2d"]


def test_a_good_config_builds_its_network_and_data(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    assert (config.train.epochs, config.train.batch_size, config.train.seed) == (3, 2, 1)
    net = config.build_network()
    assert [type(layer).__name__ for layer in net.layers] == ["Dense", "Tanh", "Dense", "Tanh"]
    assert net.optimizer.learning_rate == 0.1
    data = load_data(config.data)
    assert data.x_train.shape == (4, 2) and data.x_test.shape == (4, 2)


def test_every_problem_is_reported_together_with_file_and_key(tmp_path):
    path = write(tmp_path, """
        epoch = 3
        [model]
        layers = [
            { type = "dense", output_size = 100 },
            { type = "tanh", alpha = 1 },
            { type = "dens", output_size = 10 },
            { type = "dense", ouput_size = 10 },
            { type = "dense", output_size = "ten" },
        ]
        [loss]
        type = "mse"
        [optimizer]
        type = "sgd"
        learning_rate = "fast"
        momentun = 0.9
        [data]
        dataset = "mnist_sampel"
        validation_split = 1.5
        [train]
        epochs = 0
        batchsize = 32
        seed = 1.5
        """)
    with pytest.raises(ConfigFileError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: 12 problems:")
    expected = [
        "epoch: unknown key",
        "model.layers[1].alpha: unknown argument for layer 'tanh'",
        "model.layers[2].type: unknown layer 'dens' (did you mean 'dense'?)",
        "model.layers[3].ouput_size: unknown argument for layer 'dense' (did you mean "
        "'output_size'?)",
        "model.layers[4].output_size: layer 'dense': Dense: output_size must be a positive integer",
        "optimizer.learning_rate: optimizer 'sgd' expects a number (default 0.01), got \"fast\"",
        "optimizer.momentun: unknown argument for optimizer 'sgd' (did you mean 'momentum'?)",
        "data.dataset: unknown dataset 'mnist_sampel' (did you mean 'mnist_sample'?)",
        "data.validation_split: must be a number in [0, 1)",
        "train.epochs: must be an integer >= 1, got 0",
        "train.batchsize: unknown key (did you mean 'batch_size'?)",
        "train.seed: must be an integer >= 0, got 1.5 (a float)",
    ]
    for part in expected:
        assert f"{path}: {part}" in message, part
    assert len(info.value.problems) == len(expected)


def test_layer_shapes_that_do_not_chain_name_the_layer(tmp_path):
    problems = problems_of(tmp_path, GOOD.replace('{ type = "dense", output_size = 1 }',
                                                  '{ type = "dense", input_size = 5, '
                                                  'output_size = 1 }'))
    assert problems == [
        "model.layers[2]: layer 2 (dense) does not fit its input of shape (8,) from layer 1 "
        "(tanh): expected input of size 5, got 8 (sample shape (8,)); change input_size or "
        "the data"]


def test_images_into_a_dense_layer_suggest_flattening(tmp_path):
    problems = problems_of(tmp_path, GOOD.replace('"xor"', '"mnist_sample"\none_hot = true')
                           .replace('{ type = "dense", output_size = 8 }',
                                    '{ type = "dense", input_size = 784, output_size = 8 }'))
    assert len(problems) == 1
    assert problems[0].startswith("model.layers[0]: layer 0 (dense) does not fit its input of "
                                  "shape (28, 28, 1) from the data (mnist_sample)")
    assert problems[0].endswith("set data.flatten = true or start with a flatten layer")


def test_targets_that_do_not_fit_the_loss_suggest_one_hot(tmp_path):
    problems = problems_of(tmp_path, GOOD.replace('"xor"', '"mnist_sample"\nflatten = true')
                           .replace("output_size = 1 }", "output_size = 10 }"))
    assert len(problems) == 1 and problems[0].startswith("loss: the mnist_sample targets")
    assert problems[0].endswith("set data.one_hot = true for a loss that compares one-hot rows")


def test_missing_sections_and_wrong_section_types(tmp_path):
    problems = problems_of(tmp_path, 'loss = "mse"\n[model]\nlayers = []\n')
    assert problems == [
        "model.layers: must be a non-empty array of tables ([[model.layers]]), got [] "
        "(an array)",
        "loss: must be a table ([loss]), got \"mse\" (a string)",
        "optimizer: missing; add a [optimizer] table, for example: [optimizer] type = \"sgd\" "
        "learning_rate = 0.1",
        "data: missing; add a [data] table, for example: [data] dataset = \"mnist_sample\"",
        "train: missing; add a [train] table, for example: [train] epochs = 10",
    ]


def test_component_tables_need_a_string_type(tmp_path):
    problems = problems_of(tmp_path, GOOD.replace('type = "mse"', "type = 3")
                           .replace('{ type = "tanh" },', '{ kind = "tanh" },', 1))
    assert problems == [
        "model.layers[1].type: missing; name the layer, for example type = \"dense\" "
        "(`nnframe list layers` shows them all)",
        "loss.type: must be a string naming a loss, got 3 (an integer)",
    ]


def test_data_options_are_checked_against_the_dataset(tmp_path):
    problems = problems_of(tmp_path, GOOD.replace('dataset = "xor"',
                                                  'dataset = "xor"\nsubset = 10\none_hot = true'))
    assert problems == ["data.subset: xor has 4 train samples, fewer than 10",
                        "data.one_hot: xor has no class labels to one-hot encode"]


def test_qualified_names_resolve_and_unknown_distributions_are_reported(tmp_path):
    config = load_config(write(tmp_path, GOOD.replace('type = "mse"', 'type = "nnframe:mse"')))
    assert config.loss.name == "nnframe:mse"
    problems = problems_of(tmp_path, GOOD.replace('type = "mse"', 'type = "other:mse"'))
    assert len(problems) == 1 and problems[0].startswith("loss.type: unknown loss 'other:mse'")


def test_a_plugin_factory_that_raises_is_reported_not_raised(tmp_path):
    class Exploding:
        """Always fails."""

        def __init__(self, size=1):
            raise RuntimeError("boom")

    plugin = layers_plugin("x", "exploding", factory=Exploding)
    registry.reset_registry(registry.Registry(
        entry_points=lambda: [entry_point("nnframe-x", plugin, "x")], warn=lambda m: None))
    problems = problems_of(tmp_path, GOOD.replace('{ type = "tanh" },',
                                                  '{ type = "exploding", size = 2 },', 1))
    assert problems == ["model.layers[1]: layer 'exploding' could not be created: "
                        "RuntimeError: boom"]


def test_toml_syntax_errors_give_the_file_and_line(tmp_path):
    path = write(tmp_path, "[model]\nlayers = [\n[train\n")
    with pytest.raises(ConfigError, match=rf"^{path}: invalid TOML: .*line 3"):
        load_config(path)


def test_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"# caf\xe9\n")
    with pytest.raises(ConfigError, match="line 1: not UTF-8"):
        load_config(path)


def test_data_options_shape_the_arrays():
    config = parse_config({
        "model": {"layers": [{"type": "dense", "output_size": 10}]},
        "loss": {"type": "mse"}, "optimizer": {"type": "sgd"},
        "data": {"dataset": "mnist_sample", "subset": 100, "test_subset": 50,
                 "validation_split": 0.2, "flatten": True, "one_hot": True},
        "train": {"epochs": 1},
    })
    data = load_data(config.data)
    assert data.x_train.shape == (80, 784) and data.y_train.shape == (80, 10)
    assert data.validation[0].shape == (20, 784) and data.x_test.shape == (50, 784)
    assert np.array_equal(data.y_train.sum(axis=1), np.ones(80))


def test_data_reshape_gives_every_sample_the_configured_shape():
    config = parse_config({
        "model": {"layers": [{"type": "dense", "output_size": 5}, {"type": "flatten"},
                             {"type": "dense", "output_size": 10}]},
        "loss": {"type": "cross_entropy"}, "optimizer": {"type": "sgd"},
        "data": {"dataset": "mnist_sample", "subset": 30, "test_subset": 20,
                 "reshape": [28, 28]},
        "train": {"epochs": 1},
    })
    assert config.data.sample_shape == (28, 28)
    data = load_data(config.data)
    assert data.x_train.shape == (30, 28, 28) and data.x_test.shape == (20, 28, 28)
    network = config.build_network().build(config.data.sample_shape)
    assert network.layers[0].input_size == 28  # dense works on the last axis: rows of pixels


@pytest.mark.parametrize(("reshape", "problem"), [
    ("[28, 27]", "data.reshape: [28, 27] holds 756 values per sample, but mnist_sample "
                 "samples (28, 28, 1) hold 784"),
    ("[28, 0]", "data.reshape: must be an array of positive integers, the shape of one sample "
                "(for example [28, 28]), got [28, 0] (an array)"),
    ('"28x28"', 'data.reshape: must be an array of positive integers, the shape of one sample '
                '(for example [28, 28]), got "28x28" (a string)'),
    ("[784]\nflatten = true", "data.reshape: give either flatten = true or reshape, not both "
                              "(flatten is reshape to one axis)"),
])
def test_data_reshape_problems(tmp_path, reshape, problem):
    text = (GOOD.replace('"xor"', f'"mnist_sample"\nreshape = {reshape}')
            .replace("output_size = 1 }", "output_size = 10 }"))
    assert problems_of(tmp_path, text) == [problem]


def test_a_reshaped_input_that_does_not_fit_names_the_reshape(tmp_path):
    problems = problems_of(tmp_path, GOOD.replace('"xor"', '"mnist_sample"\nreshape = [28, 28]')
                           .replace('{ type = "dense", output_size = 8 }',
                                    '{ type = "dense", input_size = 784, output_size = 8 }'))
    assert problems == [
        "model.layers[0]: layer 0 (dense) does not fit its input of shape (28, 28) from the "
        "data (mnist_sample, reshaped to (28, 28)): expected input of size 784, got 28 (sample "
        "shape (28, 28)); change input_size or the data"]
