"""Writes never destroy what is not theirs: device nodes, FIFOs and directories are never
replaced, a command never writes onto its own inputs, every output path is checked before
training, and what was trained survives a callback that fails mid-run.

The device nodes and FIFOs are private ones, made with os.mknod and os.mkfifo in a
temporary folder, never the system's own: the suite runs as root in CI, and a regression
would replace whatever node it wrote to."""

from __future__ import annotations

import os
import stat
import textwrap
from pathlib import Path

import numpy as np
import pytest

import nnframe
from nnframe.callbacks import CSVLogger
from nnframe.core import registry
from nnframe.errors import ModelFileError, PathError
from nnframe.modelfile.atomic import refuse_own_inputs, write_atomic
from tests.fake_plugins import plugin_module
from tests.test_cli_train import one_error_line, run_main, write_config


def network() -> nnframe.Network:
    return nnframe.Network([nnframe.layer("dense", 2, 2)]).build((2,), seed=0)


def char_device(folder: Path) -> Path:
    """A private character device node (the null device's numbers, major 1, minor 3),
    made with os.mknod in ``folder``."""
    path = folder / "null"
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, AttributeError, OSError) as exc:
        pytest.skip(f"cannot make a device node here ({exc}); needs root on POSIX")
    return path


def fifo(folder: Path) -> Path:
    path = folder / "pipe"
    try:
        os.mkfifo(path)
    except (PermissionError, AttributeError, OSError) as exc:
        pytest.skip(f"cannot make a FIFO here ({exc})")
    return path


def not_regular(kind: str, folder: Path) -> Path:
    if kind == "device":
        return char_device(folder)
    if kind == "fifo":
        return fifo(folder)
    path = folder / "dir.npz"
    path.mkdir()
    return path


KINDS = {"device": stat.S_ISCHR, "fifo": stat.S_ISFIFO, "directory": stat.S_ISDIR}


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_save_never_replaces_what_is_not_a_regular_file(tmp_path, kind):
    path = not_regular(kind, tmp_path)
    with pytest.raises(PathError, match="not a regular file, and nnframe replaces only"):
        network().save(path)
    with pytest.raises(PathError):
        write_atomic(path, lambda file: file.write(b"x"))
    assert KINDS[kind](os.lstat(path).st_mode)  # still what it was
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary file


def test_a_link_is_followed_the_file_it_points_to_is_replaced(tmp_path):
    real = tmp_path / "run3.npz"
    real.write_bytes(b"old")
    link = tmp_path / "latest.npz"
    link.symlink_to(real.name)
    assert network().save(link) == link
    assert link.is_symlink() and os.readlink(link) == real.name
    assert nnframe.load(real).built
    dangling = tmp_path / "new.npz"
    dangling.symlink_to("made.npz")
    network().save(dangling)
    assert dangling.is_symlink() and nnframe.load(tmp_path / "made.npz").built


def test_a_link_to_a_device_is_refused(tmp_path):
    device = char_device(tmp_path)
    link = tmp_path / "m.npz"
    link.symlink_to(device)
    with pytest.raises(PathError, match=r"m.npz \(a link to .*null\): it is a character dev"):
        network().save(link)
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_train_refuses_a_device_output_before_training(tmp_path, capsys):
    device = char_device(tmp_path)
    status, out, err = run_main(capsys, "train", write_config(tmp_path), "-o", device)
    assert status == 2 and out == ""
    assert "is a character device, not a regular file" in one_error_line(err)
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_export_refuses_a_fifo(tmp_path, capsys):
    pytest.importorskip("onnx")
    model = network().save(tmp_path / "m.npz")
    pipe = fifo(tmp_path)
    status, out, err = run_main(capsys, "export", model, pipe)
    assert status == 2 and "wrote" not in out
    assert "is a FIFO (named pipe), not a regular file" in one_error_line(err)
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)


def test_predict_never_writes_onto_its_model_or_its_inputs(tmp_path, capsys):
    model = network().save(tmp_path / "m.npz")
    inputs = tmp_path / "in.npy"
    np.save(inputs, np.ones((3, 2), np.float32))
    before = model.read_bytes(), inputs.read_bytes()
    status, _, err = run_main(capsys, "predict", model, inputs, "-o", model)
    assert status == 2 and "is the model file itself" in one_error_line(err)
    status, _, err = run_main(capsys, "predict", model, inputs, "-o",
                              tmp_path / "." / "in.npy")
    assert status == 2 and "is the input file itself" in one_error_line(err)
    link = tmp_path / "out.npy"
    link.symlink_to(inputs)
    status, _, err = run_main(capsys, "predict", model, inputs, "-o", link)
    assert status == 2 and "is the input file itself (" in one_error_line(err)
    assert (model.read_bytes(), inputs.read_bytes()) == before
    assert nnframe.load(model).built


def test_refuse_own_inputs_lets_other_paths_through(tmp_path):
    refuse_own_inputs(None, {"model file": tmp_path / "m.npz"})
    refuse_own_inputs(tmp_path / "out.npy", {"model file": tmp_path / "m.npz", "input": None})
    with pytest.raises(PathError, match="is the config itself"):
        refuse_own_inputs(tmp_path / "c.toml", {"config": tmp_path / "c.toml"})


def test_train_refuses_to_write_its_model_onto_its_config(tmp_path, capsys):
    config = write_config(tmp_path)
    text = config.read_text()
    status, out, err = run_main(capsys, "train", config, "-o", config)
    assert status == 2 and out == "" and "is the config itself" in one_error_line(err)
    assert config.read_text() == text


def config_with(tmp_path: Path, callbacks: str) -> Path:
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace("seed = 0", "seed = 0\n" + textwrap.dedent(
        callbacks)))
    return path


@pytest.mark.parametrize(("callbacks", "message"), [
    ('callbacks = [{ type = "csv_logger", path = "{dir}" }]',
     "CSVLogger's path: cannot write to {dir}: it is a directory, not a regular file"),
    ('callbacks = [{ type = "model_checkpoint", path = "{file}/ckpt.npz" }]',
     "ModelCheckpoint's path {file}/ckpt.npz: {file} is not a directory"),
    ('callbacks = [{ type = "csv_logger", path = "" }]',
     "CSVLogger's path: cannot write to '': the path is empty"),
])
def test_callback_paths_are_checked_before_training(tmp_path, capsys, callbacks, message):
    folder = tmp_path / "a-dir"
    folder.mkdir()
    a_file = tmp_path / "a-file"
    a_file.write_text("in the way")
    fill = {"{dir}": str(folder), "{file}": str(a_file)}
    for key, value in fill.items():
        callbacks, message = callbacks.replace(key, value), message.replace(key, value)
    status, out, err = run_main(capsys, "train", config_with(tmp_path, callbacks), "-o",
                                tmp_path / "m.npz")
    assert status == 2 and "epoch 1/" not in out, out
    assert message in one_error_line(err)
    assert not (tmp_path / "m.npz").exists()


def test_callback_paths_are_checked_before_training_in_python_too(tmp_path):
    char = char_device(tmp_path)
    net = network().use("mse", "sgd")
    x = np.ones((4, 2), np.float32)
    with pytest.raises(PathError, match="is a character device"):
        net.fit(x, x, epochs=1, verbose=0, callbacks=[CSVLogger(char)])
    assert net.epoch == 0


def test_a_callback_failing_mid_run_keeps_what_was_trained(tmp_path, capsys, monkeypatch):
    config = config_with(tmp_path, """\
        epochs = 3
        callbacks = [{ type = "csv_logger", path = "log.csv" }]
    """.replace("        ", "")).read_text().replace("epochs = 2\n", "")
    path = tmp_path / "c.toml"
    path.write_text(config)
    straight = tmp_path / "straight.npz"
    monkeypatch.chdir(tmp_path)
    assert run_main(capsys, "train", path, "-q", "-o", straight)[0] == 0

    def full_disk(self, epoch, logs):
        if epoch == 1:
            raise ModelFileError(f"CSVLogger cannot write {self.path}: No space left on device")
        return original(self, epoch, logs)

    original = CSVLogger.on_epoch_end
    monkeypatch.setattr(CSVLogger, "on_epoch_end", full_disk)
    output = tmp_path / "run.npz"
    status, _, err = run_main(capsys, "train", path, "-q", "-o", output, "--epochs", "3")
    assert status == 2
    first, last = err.strip().splitlines()
    assert f"saved the network trained so far to {output}" in first
    assert f"--resume {output} --epochs 3 -o {output} -q" in first
    assert last.startswith("nnframe: error: CSVLogger cannot write log.csv: No space left")
    assert nnframe.load(output).epoch == 2
    monkeypatch.setattr(CSVLogger, "on_epoch_end", original)
    status, _, err = run_main(capsys, "train", path, "-q", "--resume", output, "-o", output)
    assert status == 0, err
    a, b = nnframe.load(straight), nnframe.load(output)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(pa.value, pb.value)


def test_a_callback_failing_inside_an_epoch_records_the_exact_position(tmp_path):
    x = np.random.default_rng(0).normal(size=(12, 2)).astype(np.float32)

    class Fails(nnframe.Callback):
        def on_batch_end(self, batch, logs):
            if self.network.epoch == 1 and batch == 1:
                raise ModelFileError("cannot write")

    straight = network().use("mse", "sgd")
    straight.fit(x, x, epochs=2, batch_size=4, verbose=0, seed=1)
    failed = network().use("mse", "sgd")
    with pytest.raises(ModelFileError):
        failed.fit(x, x, epochs=2, batch_size=4, verbose=0, seed=1, callbacks=[Fails()])
    assert failed.epoch == 1 and failed.resume_point["batch"] == 2
    resumed = nnframe.load(failed.save(tmp_path / "f.npz"))
    resumed.fit(x, x, epochs=2, batch_size=4, verbose=0, initial_epoch=resumed.epoch)
    for pa, pb in zip(straight.parameters(), resumed.parameters(), strict=True):
        np.testing.assert_array_equal(pa.value, pb.value)


def test_a_layer_that_cannot_be_saved_is_refused_before_training(tmp_path, capsys):
    from nnframe.layers.activations import Tanh

    class Tagged(Tanh):
        def get_config(self):
            return {"tags": {"a", "set"}}  # not JSON

    def register_layers(register):
        register("tagged", Tagged)

    registry.get_registry().register_plugin(
        plugin_module("tagged_plugin", register_layers=register_layers), "tagged",
        distribution="nnframe-tagged", version="1.0")
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace('{ type = "tanh" }', '{ type = "tagged" }'))
    status, out, err = run_main(capsys, "train", config, "-o", tmp_path / "m.npz")
    line = one_error_line(err)
    assert status == 2 and "epoch 1/" not in out
    assert "cannot save layer 1" in line and "found before training" in line


def test_a_run_stopped_in_its_first_epoch_saves_a_file_that_loads(tmp_path):
    """A network trained 3 epochs, then fit again from epoch 0 and stopped inside it, was
    saved with epoch 3 and a position inside epoch 1: a file nnframe.load refused."""
    x = np.random.default_rng(0).normal(size=(40, 2)).astype(np.float32)

    class StopAtBatch2(nnframe.Callback):
        def on_batch_end(self, batch, logs):
            if batch == 1:
                self.network.stop_training = True

    net = network().use("mse", "sgd")
    net.fit(x, x, epochs=3, batch_size=4, verbose=0)
    net.fit(x, x, epochs=3, batch_size=4, verbose=0, callbacks=[StopAtBatch2()])
    assert net.epoch == 0 and net.resume_point["batch"] == 2
    loaded = nnframe.load(net.save(tmp_path / "stopped.npz"))
    assert loaded.epoch == 0 and loaded.resume_point["batch"] == 2


def test_fit_with_a_checkpoint_refuses_a_layer_that_cannot_be_saved_before_training(tmp_path):
    from nnframe.layers.activations import Tanh

    class Tagged(Tanh):
        def get_config(self):
            return {"tags": {"a", "set"}}  # not JSON

    def register_layers(register):
        register("tagged", Tagged)

    registry.get_registry().register_plugin(
        plugin_module("tagged_plugin", register_layers=register_layers), "tagged",
        distribution="nnframe-tagged", version="1.0")
    net = nnframe.Network([nnframe.layer("dense", 2, 2), nnframe.layer("tagged")])
    net.use("mse", "sgd")
    x = np.ones((4, 2), np.float32)
    checkpoint = nnframe.ModelCheckpoint(tmp_path / "ckpt-{epoch}.npz")
    with pytest.raises(ModelFileError, match=r"cannot save layer 1 .*found before training"):
        net.fit(x, x, epochs=2, verbose=0, callbacks=[checkpoint])
    assert net.epoch == 0 and not list(tmp_path.iterdir())
