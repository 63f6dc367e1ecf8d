"""The atomic writer every save goes through: paths that cannot name a file, and the
hidden temporary files that killed writes leave behind."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

import nnframe
from nnframe.errors import NNFrameError, PathError
from nnframe.modelfile.atomic import STALE_AFTER_S, remove_stale_temps, write_atomic
from tests.test_cli_train import EXAMPLES, one_error_line, run_main


def network() -> nnframe.Network:
    return nnframe.Network([nnframe.layer("dense", 2, 2)]).build((2,), seed=0)


@pytest.mark.parametrize(("path", "message"), [
    ("", "cannot write to '': the path is empty; give a file name"),
    ("a\0b.npz", "cannot write to 'a\\x00b.npz': a path cannot contain a NUL byte"),
    (".", "cannot write to '.': it names a directory, not a file"),
])
def test_paths_that_cannot_name_a_file_are_clear_errors(tmp_path, monkeypatch, path, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PathError) as info:
        network().save(path)
    assert str(info.value).startswith(message)
    assert isinstance(info.value, NNFrameError) and isinstance(info.value, ValueError)
    assert list(tmp_path.iterdir()) == []  # nothing was written
    with pytest.raises(PathError):
        write_atomic(path, lambda file: file.write(b"x"))


def test_the_cli_reports_an_empty_output_path_in_one_line(tmp_path, capsys):
    model = tmp_path / "xor.npz"
    assert run_main(capsys, "train", EXAMPLES / "xor.toml", "-q", "-o", model)[0] == 0
    inputs = tmp_path / "x.npy"
    np.save(inputs, np.zeros((1, 2), np.float32))
    status, _, err = run_main(capsys, "predict", model, inputs, "-o", "")
    assert status == 2 and "it names a directory, not a file" in one_error_line(err)


def age(path: Path, seconds: float) -> Path:
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))
    return path


def test_a_save_removes_stale_temporary_files_and_nothing_else(tmp_path):
    def make(name: str, seconds: float) -> Path:
        path = tmp_path / name
        path.write_bytes(b"left by a killed save")
        return age(path, seconds)

    day = STALE_AFTER_S
    stale = [make(".model.npz.0123456789ab.tmp", 2 * day),
             make(".other.npz.ba9876543210.tmp", day + 60)]
    kept = [make(".model.npz.aaaaaaaaaaaa.tmp", 60),        # a save still in progress
            make(".model.npz.tmp", 2 * day),                # not our naming
            make(".notes.0123456789ab.txt", 2 * day),       # not a temporary file
            make("data.0123456789ab.tmp", 2 * day)]         # not hidden
    (tmp_path / ".dir.npz.0123456789ab.tmp").mkdir()        # not a file
    age(tmp_path / ".dir.npz.0123456789ab.tmp", 2 * day)

    network().save(tmp_path / "model.npz")
    assert not any(path.exists() for path in stale)
    assert all(path.exists() for path in kept)
    assert (tmp_path / ".dir.npz.0123456789ab.tmp").is_dir()
    assert remove_stale_temps(tmp_path) == []  # nothing left to remove
    assert remove_stale_temps(tmp_path / "missing") == []
