"""The README's snippets work as shown: they run, say how to make their inputs, stay quiet
where they promise nothing to print, and promise no timing the project cannot keep."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

import nnframe
from nnframe.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def test_the_python_snippets_run_and_resuming_prints_no_epoch_lines(tmp_path):
    """'In Python' then 'Saving and loading', as a reader would paste them: the resume
    call must not print a line per epoch (1,000 of them) into the reader's terminal."""
    code = code_blocks(section("In Python"), "python")[0]
    code += code_blocks(section("Saving and loading"), "python")[0]
    code += "print('resumed to epoch', net.epoch)\n"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300, check=True)
    lines = result.stdout.splitlines()
    assert len(lines) < 30, f"{len(lines)} lines: {lines[:5]} ..."
    assert not any(re.match(r"\s*epoch\b", line, re.I) for line in lines)
    assert lines[-1] == "resumed to epoch 2000"


def test_the_predict_example_says_how_to_make_its_input(tmp_path, capsys):
    commands = [line.split("  #")[0].strip()
                for line in code_blocks(section("On the command line"), "bash")[0].splitlines()]
    predict = next(c for c in commands if c.startswith("nnframe predict "))
    model_name, input_name = shlex.split(predict)[2:4]
    makers = [c for c in commands[:commands.index(predict)] if input_name in c]
    assert makers, f"nothing before `{predict}` makes {input_name}"
    maker = shlex.split(makers[0])
    assert maker[0] == "python"
    subprocess.run([sys.executable, *maker[1:]], cwd=tmp_path, check=True, timeout=120)
    digits = np.load(tmp_path / input_name)
    assert digits.shape[1:] == (28, 28, 1) and digits.dtype == np.float32

    # mnist_mlp.toml's network takes (28, 28, 1) samples: an untrained one shows the format
    net = nnframe.Network([nnframe.layer("flatten"), nnframe.layer("dense", output_size=10)])
    net.use("cross_entropy", "adam").build((28, 28, 1), seed=0).save(tmp_path / model_name)
    try:
        main(["predict", str(tmp_path / model_name), str(tmp_path / input_name)])
    except SystemExit as exit_:
        assert exit_.code == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["sample", "class", "probability"] and len(out) == 1 + len(digits)


def test_the_readme_promises_no_timing():
    """"In seconds" took 12 to 44 s on a busy 2-core machine: say what runs, not how fast."""
    assert not re.search(r"\bin (a few )?seconds\b", README)
