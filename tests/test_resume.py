"""`nnframe.modelfile.resume`: Python refuses to resume what ``nnframe train --resume``
refuses, with the same messages, and a run resumed from Python is the uninterrupted run."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from nnframe.cli import main
from nnframe.config import load_config, load_data
from nnframe.errors import ConfigError, ModelFileError, NNFrameError
from nnframe.modelfile.load import load
from nnframe.modelfile.resume import check_resumable, kept_from_checkpoint, resume_from

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

CONFIG = """
[model]
layers = [
    { type = "dense", output_size = 16 },
    { type = "tanh" },
    { type = "dense", output_size = 10 },
]
[loss]
type = "mse"
[optimizer]
type = "sgd"
learning_rate = 0.5
[data]
dataset = "mnist_sample"
subset = 300
test_subset = 100
validation_split = 0.2
flatten = true
one_hot = true
[train]
epochs = 2
batch_size = 20
seed = 0
"""


def write(folder: Path, name: str, text: str = CONFIG) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def sample_shape(config_path: Path) -> tuple[int, ...]:
    """The shape of one training sample of the config's data, as ``nnframe train`` sees it."""
    config = load_config(config_path)
    return load_data(config.data, config.train.seed).x_train.shape[1:]


def cli_error(capsys, *args: object) -> str:
    """The one error line of ``nnframe ARGS``, which must exit 2."""
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    (line,) = err.strip().splitlines()
    return line


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> tuple[Path, Path]:
    """(config, model file): the config's 2 epochs trained by ``nnframe train``."""
    folder = tmp_path_factory.mktemp("resume")
    config, model = write(folder, "sample.toml"), folder / "sample.npz"
    with pytest.raises(SystemExit) as info:
        main(["train", str(config), "-q", "-o", str(model)])
    assert info.value.code == 0
    return config, model


def refusals(folder: Path, config: Path, model: Path) -> dict[str, tuple]:
    """What to resume, with which config, to which epoch, and the error it must raise."""
    wider = write(folder, "wider.toml", CONFIG.replace("output_size = 16", "output_size = 32"))
    bare = folder / "bare.npz"
    load(model).save(bare, include_optimizer=False)
    return {
        "trained enough epochs": (model, config, 2, ConfigError, "already trained 2 epochs"),
        "other layers": (model, wider, 3, ConfigError,
                         "layer 0 (dense): output_size is 16 in the checkpoint but 32 in "
                         "the config"),
        "other input shape": (model, EXAMPLES / "xor.toml", 3000, ConfigError,
                              "its input shape is (784,), the data's is (2,)"),
        "no optimizer": (bare, config, 3, ModelFileError, "no loss or optimizer"),
    }


@pytest.mark.parametrize("case", ["trained enough epochs", "other layers",
                                  "other input shape", "no optimizer"])
def test_python_refuses_what_the_cli_refuses_with_the_same_message(case, checkpoint, tmp_path,
                                                                   capsys):
    path, config, epochs, error, words = refusals(tmp_path, *checkpoint)[case]
    line = cli_error(capsys, "train", config, "--resume", path, "--epochs", epochs,
                     "-o", tmp_path / "out.npz")
    with pytest.raises(error) as info:
        resume_from(path, load_config(config), sample_shape(config), epochs=epochs)
    assert words in str(info.value)
    assert line == f"nnframe: error: {info.value}"
    with pytest.raises(error) as again:  # on a network loaded by the caller: the same check
        check_resumable(load(path), load_config(config), sample_shape(config), epochs=epochs,
                        source=path)
    assert str(again.value) == str(info.value)


def test_the_messages_name_the_checkpoint_as_the_caller_does(checkpoint):
    config, model = checkpoint
    with pytest.raises(ConfigError, match=r"^the checkpoint has already trained 2 epochs"):
        check_resumable(load(model), load_config(config), sample_shape(config), epochs=2)
    check_resumable(load(model), load_config(config), sample_shape(config))  # no epochs: fits


def test_a_run_resumed_from_python_is_the_uninterrupted_run(tmp_path):
    config = load_config(write(tmp_path, "run.toml"))
    train = config.train
    data = load_data(config.data, train.seed)

    def fit(network, epochs):
        network.fit(data.x_train, data.y_train, epochs=epochs, batch_size=train.batch_size,
                    initial_epoch=network.epoch, verbose=0)

    def fresh():
        network = config.build_network()
        network.build(data.x_train.shape[1:], seed=train.seed)
        return network

    straight = fresh()
    fit(straight, 4)
    first = fresh()
    fit(first, 2)
    first.save(tmp_path / "half.npz")
    resumed = resume_from(tmp_path / "half.npz", config, data.x_train.shape[1:], epochs=4)
    assert resumed.epoch == 2
    fit(resumed, 4)
    for a, b in zip(straight.parameters(), resumed.parameters(), strict=True):
        np.testing.assert_array_equal(a.value, b.value)


def test_kept_from_checkpoint_notes_a_config_that_names_another_optimizer(checkpoint,
                                                                         tmp_path):
    config, model = checkpoint
    network = load(model)
    assert kept_from_checkpoint(network, load_config(config), model) is None
    slower = write(tmp_path, "slower.toml", CONFIG.replace("learning_rate = 0.5",
                                                           "learning_rate = 0.1"))
    note = kept_from_checkpoint(network, load_config(slower), model)
    assert note == (f"note: resuming with the loss and optimizer saved in {model} (mse; sgd "
                    "learning_rate=0.5, momentum=0.0, nesterov=False), not the config's "
                    "(mse; sgd learning_rate=0.1, momentum=0.0, nesterov=False)")


def test_a_missing_checkpoint_is_refused_by_its_path(tmp_path, checkpoint):
    config, _ = checkpoint
    with pytest.raises(NNFrameError, match=r"nope\.npz: no such"):
        resume_from(tmp_path / "nope.npz", load_config(config), (784,))
