"""``nnframe train`` end to end, and ``evaluate``/``predict``/``summary``/``show`` on its models.

Commands run through Typer's runner, through `main` (for exit statuses and one-line errors)
and as ``python -m nnframe`` in a subprocess (Ctrl-C, --help).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import nnframe
from nnframe.cli import app, main

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

SAMPLE_CONFIG = """
[model]
layers = [
    {{ type = "dense", output_size = 16 }},
    {{ type = "tanh" }},
    {{ type = "dense", output_size = 10 }},
]
[loss]
type = "{loss}"
[optimizer]
type = "sgd"
learning_rate = 0.5
[data]
dataset = "mnist_sample"
subset = 300
test_subset = 100
validation_split = 0.2
flatten = true
one_hot = {one_hot}
[train]
epochs = 2
batch_size = 20
seed = 0
"""


def write_config(folder: Path, loss: str = "mse", name: str = "sample.toml") -> Path:
    path = folder / name
    one_hot = "true" if loss == "mse" else "false"
    path.write_text(textwrap.dedent(SAMPLE_CONFIG.format(loss=loss, one_hot=one_hot)))
    return path


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    """Run the CLI's entry point in-process: (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return info.value.code, out, err


def run_module(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnframe", *map(str, args)],
                          capture_output=True, text=True, timeout=120, **kwargs)


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nnframe: error: ") and "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def xor_model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("xor") / "xor.npz"
    result = runner.invoke(app, ["train", str(EXAMPLES / "xor.toml"), "-o", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module")
def sample_models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sample")
    models = {}
    for loss in ("mse", "cross_entropy"):
        models[loss] = folder / f"{loss}.npz"
        config = write_config(folder, loss, f"{loss}.toml")
        result = runner.invoke(app, ["train", str(config), "-q", "-o", str(models[loss])])
        assert result.exit_code == 0, result.output
    return models


# -- train ---------------------------------------------------------------------------------


def test_train_xor_end_to_end(xor_model):
    net = nnframe.load(xor_model)
    x, y = nnframe.datasets.xor()
    assert net.epoch == 1000
    assert np.array_equal(net.predict(x) > 0.5, y > 0.5)


def test_train_prints_a_line_per_epoch_the_test_metrics_and_the_model_path(tmp_path):
    config = write_config(tmp_path)
    output = tmp_path / "model.npz"
    result = runner.invoke(app, ["train", str(config), "--epochs", "3", "-o", str(output)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == ("mnist_sample: 240 training, 60 validation, 100 test samples of "
                        "shape (784,)")
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert [line.split(" - ")[0] for line in epochs] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert all(re.search(r"loss: [\d.]+ - accuracy: [\d.]+ - val_loss: [\d.]+ - "
                         r"val_accuracy: [\d.]+$", line) for line in epochs)
    assert re.fullmatch(r"test: loss [\d.]+ - accuracy [\d.]+% \(100 samples\)", lines[-2])
    assert lines[-1] == f"saved the model to {output}"
    assert nnframe.load(output).epoch == 3


def test_train_the_seed_example_on_the_embedded_sample(tmp_path):
    """The README's first command, two epochs, in a fresh process (no data directory)."""
    env = {**os.environ, "NNFRAME_DATA_DIR": str(tmp_path / "no-data-here")}
    result = run_module("train", EXAMPLES / "mnist_seed.toml", "--epochs", "2", cwd=tmp_path,
                        env=env)
    assert result.returncode == 0, result.stderr
    accuracy = float(re.search(r"test: loss [\d.]+ - accuracy ([\d.]+)% \(500 samples\)",
                               result.stdout).group(1))
    assert accuracy > 40.0, result.stdout  # chance is 10%; two epochs give about 55%
    assert (tmp_path / "mnist_seed.npz").is_file()
    assert not (tmp_path / "no-data-here").exists()


def test_same_seed_same_model_and_seed_override(tmp_path):
    config = write_config(tmp_path)
    weights = []
    for name, extra in (("a", []), ("b", []), ("c", ["--seed", "1"])):
        result = runner.invoke(app, ["train", str(config), "-q", "-o",
                                     str(tmp_path / f"{name}.npz"), *extra])
        assert result.exit_code == 0, result.output
        weights.append(nnframe.load(tmp_path / f"{name}.npz").layers[0].params["weights"])
    assert np.array_equal(weights[0], weights[1])
    assert not np.array_equal(weights[0], weights[2])


def test_quiet_prints_only_the_result(tmp_path):
    result = runner.invoke(app, ["train", str(write_config(tmp_path)), "--quiet", "-o",
                                 str(tmp_path / "m.npz")])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("test: ") and lines[1].startswith("saved")


def test_default_output_is_named_after_the_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["train", str(write_config(tmp_path, name="tiny.toml")), "-q"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "tiny.npz").is_file()


def test_checkpoints_and_resume_give_the_uninterrupted_run(tmp_path):
    config = write_config(tmp_path)
    straight, resumed = tmp_path / "straight.npz", tmp_path / "resumed.npz"
    assert runner.invoke(app, ["train", str(config), "-q", "--epochs", "4", "-o",
                               str(straight)]).exit_code == 0
    first = runner.invoke(app, ["train", str(config), "-q", "--epochs", "2",
                                "--checkpoint-every", "1", "-o", str(resumed)])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["train", str(config), "--epochs", "4", "--resume",
                                 str(resumed), "-o", str(resumed)])
    assert second.exit_code == 0, second.output
    assert "resuming from" in second.stdout and "epoch 3/4" in second.stdout
    assert "epoch 1/4" not in second.stdout
    a, b = nnframe.load(straight), nnframe.load(resumed)
    assert a.epoch == b.epoch == 4
    # Exact: the resumed epochs replay the same batches (the generator's state is saved)
    # with the same shapes, operations and BLAS threads as the uninterrupted run.
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert np.array_equal(p.value, q.value)


def test_resume_refuses_a_finished_run_or_another_network(tmp_path, capsys, sample_models):
    config = write_config(tmp_path)
    status, _, err = run_main(capsys, "train", config, "--resume", sample_models["mse"])
    assert status == 2 and "already trained 2 epochs" in one_error_line(err)
    status, _, err = run_main(capsys, "train", EXAMPLES / "xor.toml", "--resume",
                              sample_models["mse"])
    assert status == 2 and "resume with the config it was trained with" in one_error_line(err)
    status, _, err = run_main(capsys, "train", config, "--epochs", "5", "--seed", "3",
                              "--resume", sample_models["mse"])
    assert status == 2 and "--seed cannot be combined with --resume" in one_error_line(err)


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "curves.png"
    result = runner.invoke(app, ["train", str(write_config(tmp_path)), "-q", "-o",
                                 str(tmp_path / "m.npz"), "--plot", str(png)])
    assert result.exit_code == 0, result.output
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 300 and height > 200
    assert data[-8:-4] == b"IEND"


def test_plot_without_matplotlib_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name ==
                        "matplotlib" else real_find_spec(name, *a))
    output = tmp_path / "m.npz"
    status, out, err = run_main(capsys, "train", write_config(tmp_path), "-o", output,
                                "--plot", tmp_path / "c.png")
    assert status == 2 and "pip install 'nnframe[plot]'" in one_error_line(err)
    assert not output.exists() and out == ""  # refused before training


def test_ctrl_c_stops_after_the_batch_and_saves(tmp_path):
    config = write_config(tmp_path)
    output = tmp_path / "interrupted.npz"
    process = subprocess.Popen(
        [sys.executable, "-m", "nnframe", "train", str(config), "--epochs", "100000",
         "-o", str(output)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:  # wait until training is under way
            if line.startswith("epoch 1/"):
                break
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert f"saved the network trained so far to {output}" in err
    assert f"--resume {output}" in err
    assert nnframe.load(output).epoch >= 1


def test_ctrl_c_inside_an_epoch_then_resume_is_the_uninterrupted_run(tmp_path):
    config = write_config(tmp_path).read_text().replace("epochs = 2", "epochs = 3")
    config = config.replace("batch_size = 20", "batch_size = 4")
    path = tmp_path / "c.toml"
    path.write_text(config)
    straight = tmp_path / "straight.npz"
    assert runner.invoke(app, ["train", str(path), "-o", str(straight), "-q"]).exit_code == 0
    interrupted = tmp_path / "run.npz"
    process = subprocess.Popen(
        [sys.executable, "-m", "nnframe", "train", str(path), "-o", str(interrupted),
         "--checkpoint-every", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:  # after the first epoch's checkpoint, mid-epoch 2
            if line.startswith("epoch 1/"):
                break
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    saved = tmp_path / "run.interrupted.npz"
    assert f"saved the network trained so far to {saved}" in err
    assert nnframe.load(interrupted).epoch == 1  # the last clean checkpoint is untouched
    result = runner.invoke(app, ["train", str(path), "--resume", str(saved), "-o",
                                 str(tmp_path / "resumed.npz"), "-q"])
    assert result.exit_code == 0, result.output
    a, b = nnframe.load(straight), nnframe.load(tmp_path / "resumed.npz")
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(pa.value, pb.value)


def test_resume_names_what_changed_in_the_config(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the run without -o writes other.npz here, not in the repo
    config = write_config(tmp_path)
    output = tmp_path / "m.npz"
    run_main(capsys, "train", config, "-o", output, "-q")
    wider = tmp_path / "wider.toml"
    wider.write_text(config.read_text().replace("output_size = 16", "output_size = 32"))
    status, _, err = run_main(capsys, "train", wider, "--epochs", "3", "--resume", output)
    assert status == 2 and ("layer 0 (dense): output_size is 16 in the checkpoint but 32 in "
                            "the config") in one_error_line(err)
    other = tmp_path / "other.toml"
    other.write_text(config.read_text().replace("learning_rate = 0.5", "learning_rate = 0.1")
                     .replace('type = "mse"', 'type = "mae"'))
    status, out, _ = run_main(capsys, "train", other, "--epochs", "3", "--resume", output)
    assert status == 0
    assert (f"note: resuming with the loss and optimizer saved in {output} (mse; sgd "
            "learning_rate=0.5") in out
    assert "loss mse, optimizer sgd (learning rate 0.5)" in out  # the banner says what is used


def test_a_config_with_a_schedule_metrics_early_stopping_and_a_csv_log(tmp_path, capsys):
    config = write_config(tmp_path, loss="cross_entropy").read_text().replace(
        "seed = 0", textwrap.dedent("""\
        seed = 0
        epochs = 6
        schedule = { type = "cosine", warmup_epochs = 1 }
        metrics = ["f1", { type = "top_k_accuracy", k = 3 }]
        clip_norm = 5.0
        callbacks = [
            { type = "early_stopping", monitor = "val_loss", patience = 1 },
            { type = "csv_logger", path = "log.csv" },
        ]""")).replace("epochs = 2\n", "")
    path = tmp_path / "full.toml"
    path.write_text(config)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        status, out, err = run_main(capsys, "train", path, "-o", tmp_path / "m.npz")
    finally:
        os.chdir(cwd)
    assert status == 0, err
    assert "val_f1" in out and "top_3_accuracy" in out and "test: loss" in out
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert rows[0].split(",")[:3] == ["epoch", "loss", "accuracy"]
    assert 1 <= len(rows) - 1 <= 6
    assert [m.name for m in nnframe.load(tmp_path / "m.npz").metrics] == ["f1", "top_3_accuracy"]


# -- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("[model\n", "invalid TOML: Expected ']' at the end of a table declaration (at line 1"),
    (SAMPLE_CONFIG.format(loss="mse", one_hot="true").replace("epochs = 2", 'epochs = "2"'),
     'train.epochs: must be an integer >= 1, got "2" (a string)'),
    (SAMPLE_CONFIG.format(loss="mse", one_hot="true").replace('"mnist_sample"', '"cifar"'),
     "data.dataset: unknown dataset 'cifar'"),
])
def test_bad_configs_are_one_line_and_exit_2(tmp_path, capsys, text, expected):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    status, out, err = run_main(capsys, "train", path)
    assert status == 2 and out == ""
    # the TOML parser's own words: tomli 2.0.0 (Python 3.10) quotes "]" where tomllib has ']'
    assert one_error_line(err).replace('"]"', "']'").startswith(
        f"nnframe: error: {path}: {expected}")


def test_a_config_with_several_problems_lists_them_all(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(SAMPLE_CONFIG.format(loss="mes", one_hot="true").replace("tanh", "tahn"))
    status, _, err = run_main(capsys, "train", path)
    assert status == 2
    lines = err.strip().splitlines()
    assert lines[0] == f"nnframe: error: {path}: 2 problems:"
    assert lines[1] == (f"  {path}: model.layers[1].type: unknown layer 'tahn' (did you mean "
                        "'tanh'?); available: " + lines[1].split("available: ")[1])
    assert lines[2].startswith(f"  {path}: loss.type: unknown loss 'mes' (did you mean 'mse'?)")


def test_missing_and_unreadable_configs(tmp_path, capsys):
    status, _, err = run_main(capsys, "train", tmp_path / "nope.toml")
    assert status == 2 and "nope.toml: no such config file" in one_error_line(err)
    status, _, err = run_main(capsys, "train", tmp_path)
    assert status == 2 and "is a directory" in one_error_line(err)


def test_an_unwritable_output_is_refused_before_training(tmp_path, capsys):
    status, out, err = run_main(capsys, "train", write_config(tmp_path), "-o",
                                tmp_path / "missing" / "m.npz")
    assert status == 2 and "does not exist" in one_error_line(err) and out == ""


def test_bad_input_through_python_dash_m_has_no_traceback(tmp_path):
    result = run_module("train", tmp_path / "nope.toml")
    assert result.returncode == 2 and result.stdout == ""
    one_error_line(result.stderr)


def test_help_loads_no_config_machinery_and_no_plugin():
    code = ("import sys\nfrom nnframe.cli import main\ntry:\n    main(['train', '--help'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in ('nnframe.config', 'nnframe.cli.training', 'matplotlib',"
            " 'nnframe.builtin_plugin') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--checkpoint-every" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


# -- evaluate, predict, summary, show --------------------------------------------------------


def test_evaluate_defaults_to_a_data_set_that_fits(xor_model, sample_models, capsys,
                                                   monkeypatch, tmp_path):
    monkeypatch.setenv("NNFRAME_DATA_DIR", str(tmp_path))  # no full MNIST here: no download
    status, out, _ = run_main(capsys, "evaluate", xor_model)
    assert status == 0
    assert re.fullmatch(r"xor test: loss [\d.]+ - accuracy 100.00% \(4 samples\)\n", out)
    status, out, _ = run_main(capsys, "evaluate", sample_models["mse"])
    assert status == 0
    assert re.fullmatch(r"mnist_sample test: loss [\d.]+ - accuracy [\d.]+% \(500 samples\)\n",
                        out)


def test_evaluate_on_a_named_data_set_shapes_the_data_for_the_model(sample_models, capsys):
    status, out, _ = run_main(capsys, "evaluate", sample_models["cross_entropy"], "--dataset",
                              "mnist_sample")
    assert status == 0 and out.startswith("mnist_sample test: ")
    status, _, err = run_main(capsys, "evaluate", sample_models["mse"], "--dataset", "xor")
    assert status == 2 and "do not fit the model's input shape (784,)" in one_error_line(err)
    status, _, err = run_main(capsys, "evaluate", sample_models["mse"], "--dataset", "mnsit")
    assert status == 2 and "Did you mean 'mnist'" in one_error_line(err)


def test_predict_prints_classes_and_probabilities(sample_models, tmp_path, capsys):
    x, _ = nnframe.datasets.mnist_sample("test")
    inputs = tmp_path / "digits.npy"
    np.save(inputs, x[:4])
    status, out, _ = run_main(capsys, "predict", sample_models["cross_entropy"], inputs)
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "sample  class  probability" and len(lines) == 5
    net = nnframe.load(sample_models["cross_entropy"])
    logits = net.predict(x[:4].reshape(4, 784)).astype(np.float64)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    for number, (line, row) in enumerate(zip(lines[1:], probabilities, strict=True)):
        index, label, p = line.split()
        assert int(index) == number and int(label) == row.argmax()
        assert float(p) == pytest.approx(row.max(), abs=1e-4)
    status, out, _ = run_main(capsys, "predict", sample_models["mse"], inputs)
    assert out.splitlines()[0] == "sample  class  output"


def test_predict_accepts_one_sample_and_writes_outputs(sample_models, tmp_path, capsys):
    x, _ = nnframe.datasets.mnist_sample("test")
    one = tmp_path / "one.npy"
    np.save(one, x[0, :, :, 0])  # a single 28x28 image
    status, out, _ = run_main(capsys, "predict", sample_models["mse"], one)
    assert status == 0 and len(out.splitlines()) == 2
    batch, target = tmp_path / "batch.npy", tmp_path / "out.npy"
    np.save(batch, x[:7])
    status, out, _ = run_main(capsys, "predict", sample_models["mse"], batch, "-o", target)
    assert status == 0 and out == f"wrote the outputs (7, 10) for 7 samples to {target}\n"
    expected = nnframe.load(sample_models["mse"]).predict(x[:7].reshape(7, 784))
    assert np.array_equal(np.load(target, allow_pickle=False), expected)


def test_predict_bad_inputs_are_one_line_errors(sample_models, tmp_path, capsys):
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((3, 5), dtype=np.float32))
    status, _, err = run_main(capsys, "predict", sample_models["mse"], wrong)
    assert status == 2
    assert one_error_line(err) == (f"nnframe: error: {wrong}: holds an array of shape (3, 5), "
                                   "but the model takes samples of shape (784,); give an "
                                   "array (N, 784) or one sample")
    text = tmp_path / "text.npy"
    text.write_text("not numpy")
    status, _, err = run_main(capsys, "predict", sample_models["mse"], text)
    assert status == 2 and "not a .npy array file" in one_error_line(err)
    status, _, err = run_main(capsys, "predict", sample_models["mse"], tmp_path / "none.npy")
    assert status == 2 and "no such input file" in one_error_line(err)
    status, _, err = run_main(capsys, "predict", tmp_path / "none.npz", text)
    assert status == 2 and "no such model file" in one_error_line(err)


def test_an_unbuilt_model_cannot_be_evaluated_or_run(tmp_path, capsys):
    path = tmp_path / "unbuilt.npz"
    nnframe.Network([nnframe.layer("dense", output_size=3)]).use("mse").save(path)
    inputs = tmp_path / "x.npy"
    np.save(inputs, np.zeros((2, 4), dtype=np.float32))
    for args in (["evaluate", path], ["predict", path, inputs]):
        status, _, err = run_main(capsys, *args)
        assert status == 2 and "never built or trained" in one_error_line(err)
    status, out, _ = run_main(capsys, "summary", path)
    assert status == 0 and "Total params: ?" in out


def test_summary_is_a_keras_style_table(sample_models, capsys):
    status, out, _ = run_main(capsys, "summary", sample_models["mse"])
    assert status == 0
    assert "Network: 3 layers, float32, input (None, 784)" in out
    assert re.search(r"0\s+dense\s+\(None, 16\)\s+12,560", out)
    assert re.search(r"2\s+dense\s+\(None, 10\)\s+170", out)
    assert "Total params: 12,730" in out
    assert "Loss: mse" in out and "Optimizer: sgd(learning_rate=0.5" in out
    assert "Epochs trained: 2" in out


def test_show_describes_a_component(capsys):
    status, out, _ = run_main(capsys, "show", "dense")
    assert status == 0
    assert out.splitlines()[0].startswith("dense (layer): Fully connected layer")
    assert "provided by: nnframe " in out and "(built-in); qualified name nnframe:dense" in out
    assert "  output_size: int | None = None" in out
    assert "  init: str = 'glorot_uniform'" in out
    status, out, _ = run_main(capsys, "show", "nnframe:sgd")
    assert status == 0 and "  learning_rate: float = 0.01" in out


def test_show_and_list_print_docstring_markup_as_plain_text(capsys):
    status, out, _ = run_main(capsys, "show", "reduce_on_plateau")
    assert status == 0
    assert "Multiply the rate by `factor` when `monitor` has not improved" in out
    assert "``" not in out


def test_plain_keeps_code_and_the_last_name_of_a_cross_reference():
    from nnframe.docstrings import plain, summary

    text = "Raise `~nnframe.errors.ConfigError` on ``x``; see :class:`nnframe.Network`."
    assert plain(text) == "Raise `ConfigError` on `x`; see `nnframe.Network`."
    assert summary("A ``b``\n  c.\n\nRest.") == "A `b` c."


def test_show_an_unknown_name_suggests_one(capsys):
    status, _, err = run_main(capsys, "show", "dens")
    assert status == 2 and "Did you mean 'dense'?" in one_error_line(err)


def test_the_terminal_display_draws_bars_and_prints_every_nth_epoch(monkeypatch):
    import io

    from rich.console import Console

    from nnframe.callbacks import ProgressDisplay

    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=30)
    x, y = nnframe.datasets.xor()
    net = nnframe.Network([nnframe.layer("dense", 2, 3), nnframe.layer("tanh"),
                           nnframe.layer("dense", 3, 1)]).use("mse", "sgd")
    monkeypatch.setattr("nnframe.callbacks.progress.REFRESH_S", 0.0)  # draw at every batch
    net.fit(x, y, epochs=6, batch_size=1, seed=0, verbose=0,
            callbacks=[ProgressDisplay(every=4, console=console)])
    text = stream.getvalue()
    assert "epoch 1/6" in text and "━" in text  # the bar of the first epoch was drawn
    lines = [line for line in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).splitlines()
             if line.startswith("epoch ") and " - " in line]
    assert [line.split(" - ")[0] for line in lines] == ["epoch 4/6", "epoch 6/6"]
    # soft wrap: lines longer than the 30-column console are not broken up
    assert all(re.search(r" - loss: [\d.]+ - accuracy: [\d.]+$", line) for line in lines)
