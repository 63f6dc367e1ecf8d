"""SIGTERM stops training like the first Ctrl-C (saved with its exact position, exit 143),
and output that is no terminal still shows progress inside long epochs."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import numpy as np

import nnframe
from nnframe.callbacks import ProgressDisplay
from tests.test_cli_train import run_main, write_config


def test_sigterm_saves_the_exact_position_and_exits_143(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(write_config(tmp_path).read_text().replace("epochs = 2", "epochs = 3")
                    .replace("batch_size = 20", "batch_size = 4"))
    straight = tmp_path / "straight.npz"
    assert run_main(capsys, "train", path, "-o", straight, "-q")[0] == 0
    output = tmp_path / "run.npz"
    process = subprocess.Popen(
        [sys.executable, "-m", "nnframe", "train", str(path), "-o", str(output),
         "--epochs", "3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:  # mid-epoch 2
            if line.startswith("epoch 1/"):
                break
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 143, err
    assert "Traceback" not in err
    assert "nnframe: terminated (SIGTERM): stopping after this batch" in err
    assert f"saved the network trained so far to {output}" in err
    assert f"--resume {output} --epochs 3 -o {output})" in err
    status, _, err = run_main(capsys, "train", path, "--resume", output, "-o", output, "-q")
    assert status == 0, err
    a, b = nnframe.load(straight), nnframe.load(output)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(pa.value, pb.value)


def xor_network() -> nnframe.Network:
    return nnframe.Network([nnframe.layer("dense", 2, 3), nnframe.layer("tanh"),
                            nnframe.layer("dense", 3, 1)]).use("mse", "sgd")


def test_without_a_terminal_a_line_comes_every_line_every_seconds(capsys):
    x, y = nnframe.datasets.xor()
    xor_network().fit(x, y, epochs=2, batch_size=1, seed=0, verbose=0,
                      callbacks=[ProgressDisplay(line_every=0.0)])
    lines = capsys.readouterr().out.splitlines()
    progress = [line for line in lines if " - batch " in line]
    assert len(progress) == 8  # 4 batches in each of 2 epochs
    assert re.fullmatch(r"epoch 1/2 - batch 1/4 - \d+\.\ds - loss: \d+\.\d{4}", progress[0])
    assert progress[-1].startswith("epoch 2/2 - batch 4/4 - ")


def test_no_progress_lines_when_epochs_are_short_or_they_are_off(capsys):
    x, y = nnframe.datasets.xor()
    for display in (ProgressDisplay(), ProgressDisplay(line_every=None)):
        xor_network().fit(x, y, epochs=2, batch_size=1, seed=0, verbose=0,
                          callbacks=[display])
        assert " - batch " not in capsys.readouterr().out


def test_a_line_covering_several_epochs_says_so(capsys):
    x, y = nnframe.datasets.xor()
    net = xor_network()
    net.fit(x, y, epochs=7, batch_size=4, seed=0, verbose=0,
            callbacks=[ProgressDisplay(every=3)])
    lines = capsys.readouterr().out.splitlines()
    assert [re.sub(r"\d+\.\d\ds", "T", line.split(" - loss")[0]) for line in lines] == [
        "epoch 3/7 - T for 3 epochs", "epoch 6/7 - T for 3 epochs", "epoch 7/7 - T"]
    net.fit(x, y, epochs=9, batch_size=4, verbose=0, initial_epoch=7,
            callbacks=[ProgressDisplay(every=1)])  # a resumed run counts from where it is
    assert capsys.readouterr().out.splitlines()[0].startswith("epoch 8/9 - ")
