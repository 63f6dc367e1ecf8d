"""Paths that are not regular files, and config files built to break the parser.

Every reader of a user's path (model files, configs, predict's inputs, IDX data) refuses a
directory, a FIFO or a device before reading from it, saying what it is: ``/dev/zero``
would never end and a FIFO would block until a writer came.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

import nnframe
from nnframe.config import load_config, parse_config
from nnframe.datasets import mnist, read_idx
from nnframe.errors import ConfigError, DataError, ModelFileError
from nnframe.modelfile.regular_files import kind_of, open_regular
from tests.test_cli_train import EXAMPLES, one_error_line, run_main

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")
needs_dev_zero = pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")


@pytest.fixture
def fifo(tmp_path) -> Path:
    """A FIFO nobody writes to: opening it for reading the usual way blocks forever."""
    path = tmp_path / "pipe.npz"
    os.mkfifo(path)
    return path


def finishes(action, fifo: Path, seconds: float = 5.0) -> BaseException | None:
    """Run ``action`` in a thread and return what it raised; fail if it blocks.

    A reader blocked on ``fifo`` is released by opening the FIFO for writing, so that a
    regression fails this test instead of hanging the suite.
    """
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            action()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # unblock the reader, then fail
        os.close(fd)
        thread.join(seconds)
        pytest.fail(f"reading {fifo} blocked for {seconds} s")
    return outcome[0]


# -- the helper -------------------------------------------------------------------------------


def test_kinds_are_named(tmp_path):
    assert kind_of(os.stat(tmp_path).st_mode) == "a directory"
    file = tmp_path / "f"
    file.write_bytes(b"x")
    assert kind_of(os.stat(file).st_mode) == "a regular file"
    with open_regular(file, "model file") as handle:
        assert handle.read() == b"x"


def test_bad_paths_are_named_not_raised_raw(tmp_path):
    with pytest.raises(ModelFileError, match=r"not a valid path .*NUL"):
        open_regular("a\0b", "model file", ModelFileError)
    with pytest.raises(ConfigError, match="no such config file"):
        open_regular(tmp_path / "none", "config file", ConfigError)
    with pytest.raises(DataError, match="is a directory, not an input file"):
        open_regular(tmp_path, "input file", DataError)


# -- model files -----------------------------------------------------------------------------


@needs_dev_zero
def test_loading_dev_zero_is_refused_without_reading_it():
    with pytest.raises(ModelFileError, match="/dev/zero: is a character device, not a model"):
        nnframe.load("/dev/zero")


@needs_fifo
def test_loading_a_fifo_is_refused_without_blocking(fifo):
    error = finishes(lambda: nnframe.load(fifo), fifo)
    assert isinstance(error, ModelFileError)
    assert str(error) == f"{fifo}: is a FIFO (named pipe), not a model file"


@needs_fifo
def test_the_cli_says_what_a_model_path_is(tmp_path, fifo, capsys):
    inputs = tmp_path / "x.npy"
    np.save(inputs, np.zeros((1, 2), np.float32))
    status, _, err = run_main(capsys, "predict", tmp_path, inputs)
    assert status == 2 and f"{tmp_path}: is a directory, not a model file" in one_error_line(err)
    outcome: list = []
    error = finishes(lambda: outcome.append(run_main(capsys, "summary", fifo)), fifo)
    assert error is None
    status, _, err = outcome[0]
    assert status == 2 and "is a FIFO (named pipe), not a model file" in one_error_line(err)


# -- predict's inputs, configs and data files --------------------------------------------------


@needs_fifo
@needs_dev_zero
def test_predict_inputs_must_be_regular_files(tmp_path, fifo, capsys):
    model = tmp_path / "xor.npz"
    assert run_main(capsys, "train", EXAMPLES / "xor.toml", "-q", "-o", model)[0] == 0
    status, _, err = run_main(capsys, "predict", model, "/dev/zero")
    assert status == 2
    assert "/dev/zero: is a character device, not an input file" in one_error_line(err)
    outcome: list = []
    assert finishes(lambda: outcome.append(run_main(capsys, "predict", model, fifo)),
                    fifo) is None
    status, _, err = outcome[0]
    assert status == 2 and "is a FIFO (named pipe), not an input file" in one_error_line(err)


@needs_fifo
def test_a_config_that_is_a_fifo_is_refused(fifo, capsys):
    error = finishes(lambda: load_config(fifo), fifo)
    assert isinstance(error, ConfigError) and "is a FIFO (named pipe), not a config" in str(error)
    outcome: list = []
    assert finishes(lambda: outcome.append(run_main(capsys, "train", fifo)), fifo) is None
    status, _, err = outcome[0]
    assert status == 2 and "not a config file" in one_error_line(err)


@needs_dev_zero
def test_idx_files_must_be_regular_files():
    with pytest.raises(DataError, match="/dev/zero: is a character device, not a data file"):
        read_idx("/dev/zero")


@needs_fifo
def test_a_fifo_in_place_of_an_mnist_file_is_reported_not_downloaded_over(tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv("NNFRAME_MNIST_MIRROR", "http://127.0.0.1:9/never-used/")
    folder = tmp_path / "mnist"
    folder.mkdir()
    fifo = folder / "t10k-images-idx3-ubyte.gz"
    os.mkfifo(fifo)
    error = finishes(lambda: mnist("test", data_dir=tmp_path), fifo)
    assert isinstance(error, DataError)
    assert str(error) == f"{fifo}: is a FIFO (named pipe), not a data file"
    assert fifo.exists() and not fifo.is_file()


def test_an_oversized_config_is_refused_unparsed(tmp_path):
    path = tmp_path / "big.toml"
    with open(path, "wb") as file:
        file.truncate(17 * 2**20)
    with pytest.raises(ConfigError, match="larger than 16 MiB"):
        load_config(path)


# -- configs built to break the parser ---------------------------------------------------------


@pytest.mark.parametrize("nested", [
    "[" * 1000 + "]" * 1000,              # arrays: the 1000 levels
    "{a=" * 1000 + "1" + "}" * 1000,      # inline tables
    "[" * 100 + "]" * 100,                # parses, but deeper than any config
])
def test_deeply_nested_toml_is_one_config_error(tmp_path, capsys, nested):
    path = tmp_path / "deep.toml"
    path.write_text(f"[model]\nlayers = {nested}\n")
    with pytest.raises(ConfigError, match="nested") as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: ")
    status, _, err = run_main(capsys, "train", path)
    assert status == 2 and str(path) in one_error_line(err)


def test_deeply_nested_python_configs_are_refused():
    deep: list = []
    for _ in range(2000):
        deep = [deep]
    with pytest.raises(ConfigError, match="<config>: arrays or tables nested more than 64"):
        parse_config({"model": {"layers": deep}})
