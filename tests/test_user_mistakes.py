"""Mistakes a user makes are one-line errors (exit 2) found before training, and settings
that make no sense are refused instead of silently changed (issue 28, items 5 to 10)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import nnframe
from nnframe.core import registry
from nnframe.errors import ConfigError, DataError, NonFiniteWeightsWarning, PathError
from nnframe.modelfile.npz import read_npy
from tests.fake_plugins import plugin_module
from tests.test_cli_train import one_error_line, run_main, write_config

LONG = "m" * 300 + ".npz"


def network() -> nnframe.Network:
    return nnframe.Network([nnframe.layer("dense", 2, 2)]).build((2,), seed=0)


def test_a_file_name_over_255_bytes_is_a_path_error(tmp_path):
    with pytest.raises(PathError, match="its file name is 304 bytes long, and file systems "
                                        "take at most 255"):
        network().save(tmp_path / LONG)
    assert list(tmp_path.iterdir()) == []
    long_but_fine = tmp_path / ("n" * 250 + ".npz")  # its temporary name is cut short
    assert nnframe.load(network().save(long_but_fine)).built


def test_train_and_export_say_a_name_is_too_long_in_one_line(tmp_path, capsys):
    status, out, err = run_main(capsys, "train", write_config(tmp_path), "-o", tmp_path / LONG)
    assert status == 2 and out == "" and "304 bytes long" in one_error_line(err)
    pytest.importorskip("onnx")
    model = network().save(tmp_path / "m.npz")
    status, _, err = run_main(capsys, "export", model, tmp_path / ("x" * 300 + ".onnx"))
    assert status == 2 and "bytes long" in one_error_line(err)


def test_mae_on_class_labels_is_refused_before_training(tmp_path, capsys):
    config = write_config(tmp_path, loss="cross_entropy")
    config.write_text(config.read_text().replace("seed = 0", 'seed = 0\nmetrics = ["mae"]'))
    status, out, err = run_main(capsys, "train", config, "-o", tmp_path / "m.npz")
    line = one_error_line(err)
    assert status == 2 and "epoch 1/" not in out
    assert "metric 'mae' compares every output with a target of the same shape" in line
    assert "outputs have shape (10,) and the targets () per sample" in line


def test_mae_still_works_on_targets_of_the_outputs_shape():
    x = np.ones((8, 2), np.float32)
    net = network().use("mse", "sgd", metrics=["mae"])
    history = net.fit(x, x, epochs=1, verbose=0)
    assert math.isfinite(history.history["mae"][0])


def write_npy_header(path, shape, data: bytes = b"\0" * 16) -> None:
    header = {"descr": "<f4", "fortran_order": False, "shape": shape}
    with open(path, "wb") as file:
        np.lib.format.write_array_header_1_0(file, header)
        file.write(data)


def test_a_npy_header_declaring_a_petabyte_is_a_data_error(tmp_path, capsys):
    path = tmp_path / "bomb.npy"
    write_npy_header(path, (10**12, 784))
    with open(path, "rb") as file, pytest.raises(DataError, match=r"declares an array of "
                                                 r"shape \(1000000000000, 784\).*holds 16 bytes"):
        read_npy(file, str(path))
    model = network().save(tmp_path / "m.npz")
    status, _, err = run_main(capsys, "predict", model, path)
    assert status == 2 and "truncated or damaged" in one_error_line(err)


@pytest.mark.parametrize(("content", "expected"), [
    (b"1.0 2.0\n3.0 4.0\n", "not a .npy array file (it starts with b'1.0 2.0"),
    (b"PK\x03\x04rest", "holds several arrays (an .npz archive)"),
])
def test_what_is_not_a_npy_file_is_named_for_what_it_is(tmp_path, capsys, content, expected):
    path = tmp_path / "x.npy"
    path.write_bytes(content)
    status, _, err = run_main(capsys, "predict", network().save(tmp_path / "m.npz"), path)
    line = one_error_line(err)
    assert status == 2 and expected in line and "pickle" not in line


def test_a_good_npy_file_still_reads(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(6, dtype=np.float32).reshape(3, 2))
    with open(path, "rb") as file:
        np.testing.assert_array_equal(read_npy(file, "x"), np.arange(6).reshape(3, 2))


def test_a_broken_lazy_name_is_listed_as_broken_and_hides_nothing(capsys):
    def register_layers(register):
        register("lazy_missing", "pkg.nothere:Nope")

    registry.get_registry().register_plugin(
        plugin_module("lazy_plugin", register_layers=register_layers), "lazy",
        distribution="nnframe-lazy", version="1.0")
    status, out, err = run_main(capsys, "list", "layers")
    assert status == 0, err
    rows = {line.split()[1]: line for line in out.splitlines()[1:]}
    assert "dense" in rows and "tanh" in rows
    assert "BROKEN: cannot import pkg.nothere:Nope (ModuleNotFoundError: No module named " \
           "'pkg')" in rows["lazy_missing"]


@pytest.mark.parametrize("schedule", ["cosine", "reduce_on_plateau"])
def test_a_schedule_floor_above_the_rate_is_refused(schedule):
    x = np.ones((8, 2), np.float32)
    net = network().use("mse", nnframe.create("optimizer", "sgd", learning_rate=0.01))
    sched = nnframe.create("schedule", schedule, min_learning_rate=0.1,
                           **({"monitor": "loss"} if schedule != "cosine" else {}))
    with pytest.raises(ConfigError, match=r"min_learning_rate 0\.1 is above the optimizer's "
                                          r"learning rate 0\.01"):
        net.fit(x, x, epochs=1, verbose=0, schedule=sched)
    assert net.epoch == 0


@pytest.mark.parametrize(("name", "config", "message"), [
    ("csv_logger", {"path": "log.csv", "separator": "\n"}, "other than a line break"),
    ("csv_logger", {"path": "log.csv", "separator": '"'}, "or a quote"),
    ("early_stopping", {"min_delta": math.nan}, "min_delta must be a finite number, got nan"),
    ("early_stopping", {"min_delta": math.inf}, "min_delta must be a finite number"),
])
def test_callback_settings_that_make_no_sense_are_refused(name, config, message):
    with pytest.raises(ConfigError, match=message):
        nnframe.create("callback", name, **config)


def test_exporting_nan_weights_warns(tmp_path, capsys):
    pytest.importorskip("onnx")
    from nnframe.onnx import export

    net = network()
    net.parameters().values[0] = np.nan
    with pytest.warns(NonFiniteWeightsWarning, match="hold NaN or infinite values"):
        export(net, tmp_path / "m.onnx")
    model = tmp_path / "nan.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net.save(model)
    status, out, err = run_main(capsys, "export", model, tmp_path / "nan.onnx")
    assert status == 0 and out.startswith("wrote ")
    assert err.startswith(f"nnframe: warning: {model}: the weights ")
