"""``nnframe tune``: the ``[tune]`` table, trials on Optuna (pruned, failed, complete), the
best config written as TOML that ``nnframe train`` runs, and two processes sharing one
SQLite study."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from nnframe.config import load_config, parse_config
from nnframe.config.problems import ConfigFileError
from nnframe.config.toml import tomllib
from nnframe.config.writer import dump_toml
from nnframe.errors import MissingExtraError
from nnframe.tune import TuneOptions, parse_tune, trial_table, tune, with_values

BASE = """
[model]
layers = [
    { type = "dense", output_size = 16 },
    { type = "tanh" },
    { type = "dense", output_size = 10 },
]
[loss]
type = "cross_entropy"
[optimizer]
type = "sgd"
learning_rate = 0.1
[data]
dataset = "mnist_sample"
subset = 600
test_subset = 100
flatten = true
validation_split = 0.2
[train]
epochs = 3
batch_size = 50
seed = 0
"""


def write(tmp_path, tune_table, name="cfg.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(BASE) + textwrap.dedent(tune_table))
    return path


def cli(*arguments, cwd, timeout=300):
    return subprocess.run([sys.executable, "-m", "nnframe", *map(str, arguments)],
                          capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env={**os.environ, "OMP_NUM_THREADS": "1",
                               "OPENBLAS_NUM_THREADS": "1"})


def problems_of(tmp_path, tune_table):
    path = write(tmp_path, tune_table)
    with pytest.raises(ConfigFileError) as caught:
        parse_tune(tomllib.loads(path.read_text()), str(path))
    return caught.value.problems


# -- the [tune] table --------------------------------------------------------------------


def test_the_table_is_read_with_its_ranges(tmp_path):
    path = write(tmp_path, """
        [tune]
        metric = "val_loss"
        pruner = { type = "median", n_warmup_steps = 1 }
        [tune.space]
        "optimizer.learning_rate" = { type = "log_uniform", low = 1e-4, high = 1.0 }
        "optimizer.momentum" = { type = "uniform", low = 0.0, high = 0.9 }
        "model.layers[0].output_size" = { type = "int", low = 8, high = 64, step = 8 }
        "model.layers[1].type" = { type = "choice", values = ["tanh", "relu"] }
    """)
    spec = parse_tune(tomllib.loads(path.read_text()), str(path))
    assert spec.metric == "val_loss" and spec.direction == "minimize"  # read from the name
    assert spec.pruner.name == "median" and spec.pruner.arguments == {"n_warmup_steps": 1}
    assert [(r.path, r.type) for r in spec.space] == [
        ("optimizer.learning_rate", "log_uniform"), ("optimizer.momentum", "uniform"),
        ("model.layers[0].output_size", "int"), ("model.layers[1].type", "choice")]
    assert spec.space[2].step == 8


def test_every_problem_is_named_with_its_key(tmp_path):
    found = problems_of(tmp_path, """
        [tune]
        metrc = "val_accuracy"
        direction = "up"
        pruner = "medain"
        [tune.space]
        "optimizer.learning_rate" = { type = "log_uniform", low = 0.0, high = 1.0 }
        "model.layers[7].output_size" = { type = "int", low = 8, high = 64 }
        "model.layers[0].output_size" = { type = "int", low = 64, high = 8 }
        "optimizer..rate" = { type = "uniform", low = 0.0, high = 1.0 }
        "loss.type" = { type = "choice", values = [] }
        "train.epochs" = { type = "normal", low = 1, high = 2 }
    """)
    text = "\n".join(found)
    assert "tune.metrc: unknown key (did you mean 'metric'?)" in text
    assert "tune.direction: must be one of 'maximize', 'minimize'" in text
    assert "tune.pruner: unknown pruner 'medain' (did you mean 'median'?)" in text
    assert "a log_uniform range needs low > 0" in text
    assert "model.layers[7] does not exist (the config has 3 there)" in text
    assert "high (8) is below low (64)" in text
    assert '"optimizer..rate": is not a config path' in text
    assert '"loss.type".values: must be a non-empty array' in text
    assert '"train.epochs".type: must be one of' in text
    assert len(found) == 9


def test_nnframe_train_runs_a_config_with_a_tune_table(tmp_path):
    path = write(tmp_path, """
        [tune]
        [tune.space]
        "optimizer.learning_rate" = { type = "log_uniform", low = 1e-4, high = 1.0 }
    """)
    assert load_config(path).train.epochs == 3
    with pytest.raises(ConfigFileError, match="tune: must be a table"):
        parse_config({**tomllib.loads(path.read_text()), "tune": 3})


def test_values_are_set_by_path_and_the_toml_reads_back():
    raw = tomllib.loads(textwrap.dedent(BASE) + '[tune]\nmetric = "val_loss"\n')
    document = with_values(raw, {"optimizer.learning_rate": 0.003,
                                 "model.layers[0].output_size": 64,
                                 "optimizer.momentum": 0.5})
    assert "tune" not in document and "tune" in raw
    assert document["model"]["layers"][0] == {"type": "dense", "output_size": 64}
    assert document["optimizer"] == {"type": "sgd", "learning_rate": 0.003, "momentum": 0.5}
    assert raw["optimizer"] == {"type": "sgd", "learning_rate": 0.1}  # the original is kept
    text = dump_toml(document, "a header\nof two lines")
    assert text.startswith("# a header\n# of two lines\n")
    assert tomllib.loads(text) == document
    odd = {"a key": "quote \" and \\ and \u00e9", "x": {"y": [1.5, -2, True, float("inf")],
                                                       "z": {"w": "v"}}}
    assert tomllib.loads(dump_toml(odd)) == odd


# -- trials ------------------------------------------------------------------------------


def test_trials_pruned_failed_and_complete_and_the_best_config_trains(tmp_path):
    path = write(tmp_path, """
        [tune]
        metric = "val_accuracy"
        direction = "maximize"
        pruner = { type = "median", n_startup_trials = 1, n_warmup_steps = 0 }
        seed = 3
        [tune.space]
        "optimizer.learning_rate" = { type = "choice", values = [0.2, 0.0, 1e30] }
        "model.layers[1].type" = { type = "choice", values = ["relu", "no_such_layer"] }
    """)
    lines = []
    study = tune(TuneOptions(config=path, trials=12, best=tmp_path / "best.toml",
                             say=lines.append))
    trials = study.get_trials()
    states = {t.number: t.state.name for t in trials}
    assert len(trials) == 12
    for trial in trials:
        rate, layer = trial.params["optimizer.learning_rate"], trial.params["model.layers[1].type"]
        if layer == "no_such_layer":
            assert trial.state.name == "FAIL"
            assert "unknown layer 'no_such_layer'" in trial.user_attrs["error"]
        elif rate == 1e30:
            assert trial.state.name == "FAIL"
            assert "the loss became" in trial.user_attrs["error"]
        elif trial.state.name == "PRUNED":
            assert rate == 0.0  # never the rate that learns
            assert len(trial.intermediate_values) < 3  # stopped early
        else:
            assert trial.state.name == "COMPLETE"
            assert sorted(trial.intermediate_values) == [1, 2, 3]
    assert "PRUNED" in states.values() and "COMPLETE" in states.values()
    assert study.best_trial.params == {"optimizer.learning_rate": 0.2,
                                       "model.layers[1].type": "relu"}
    for trial in trials:
        assert any(line.startswith(f"trial {trial.number} ") for line in lines)
    table = trial_table(study, "val_accuracy").splitlines()
    assert table[0].split() == ["trial", "state", "val_accuracy", "optimizer.learning_rate",
                                "model.layers[1].type", "note"]
    assert len(table) == 13
    best = tomllib.loads((tmp_path / "best.toml").read_text())
    assert best == with_values(tomllib.loads(path.read_text()), study.best_trial.params)
    run = cli("train", tmp_path / "best.toml", "-q", "-o", tmp_path / "best.npz", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "best.npz").is_file()


def test_a_metric_that_is_not_logged_stops_the_search(tmp_path):
    path = write(tmp_path, """
        [tune]
        metric = "val_f1"
        [tune.space]
        "optimizer.learning_rate" = { type = "log_uniform", low = 1e-3, high = 1.0 }
    """)
    run = cli("tune", path, "--trials", 5, cwd=tmp_path)
    assert run.returncode == 2
    assert "nnframe: error: [tune] metric 'val_f1' is not logged by this run" in run.stderr
    assert "val_accuracy" in run.stderr
    assert "\n0      fail" in run.stdout and "\n1 " not in run.stdout  # then it stopped


def test_a_storage_that_cannot_open_is_one_error_line(tmp_path):
    path = write(tmp_path, """
        [tune]
        [tune.space]
        "optimizer.learning_rate" = { type = "log_uniform", low = 1e-3, high = 1.0 }
    """)
    run = cli("tune", path, "--trials", 1, "--storage", "nosuchdb://x", cwd=tmp_path)
    assert run.returncode == 2
    [line] = run.stderr.strip().splitlines()
    assert line.startswith("nnframe: error: --storage nosuchdb://x: cannot open")


def test_without_optuna_the_error_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    path = write(tmp_path, """
        [tune]
        [tune.space]
        "optimizer.learning_rate" = { type = "log_uniform", low = 1e-3, high = 1.0 }
    """)
    with pytest.raises(MissingExtraError, match=r"pip install 'nnframe\[tune\]'"):
        tune(TuneOptions(config=path, trials=1))


def test_two_processes_share_one_sqlite_study(tmp_path):
    """Started at once, each runs 10 trials: the study holds 20, numbered 0 to 19, none
    lost, repeated or left running, none failed by the database."""
    pytest.importorskip("optuna")
    path = write(tmp_path, """
        [tune]
        metric = "val_loss"
        pruner = "none"
        [tune.space]
        "optimizer.learning_rate" = { type = "log_uniform", low = 1e-3, high = 0.5 }
        "model.layers[0].output_size" = { type = "choice", values = [8, 16, 32] }
    """)
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    command = [sys.executable, "-m", "nnframe", "tune", str(path), "--trials", "10",
               "--storage", storage, "--study", "shared"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    processes = [subprocess.Popen([*command, "--best", f"best{i}.toml"], cwd=tmp_path,
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for i in range(2)]
    outputs = [process.communicate(timeout=600) for process in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        assert "locked" not in out + err
    import optuna

    study = optuna.load_study(study_name="shared", storage=storage)
    trials = study.get_trials()
    assert sorted(t.number for t in trials) == list(range(20))
    assert all(t.state.name == "COMPLETE" for t in trials), [t.user_attrs for t in trials]
    mine = [sorted(int(line.split()[1]) for line in out.splitlines()
                   if line.startswith("trial ") and " complete:" in line)
            for out, _ in outputs]
    assert len(mine[0]) == len(mine[1]) == 10 and not set(mine[0]) & set(mine[1])


def test_the_example_search_is_valid():
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "examples" / "mnist_seed_tune.toml"
    spec = parse_tune(tomllib.loads(example.read_text()), str(example))
    assert spec.metric == "val_accuracy" and len(spec.space) == 4
    assert load_config(example).train.epochs == 20


def test_each_trial_is_a_run_of_its_own_in_tensorboard(tmp_path, monkeypatch):
    pytest.importorskip("tensorboardX")
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, """
        [tune]
        [tune.space]
        "optimizer.learning_rate" = { type = "log_uniform", low = 1e-3, high = 1.0 }
    """)
    path.write_text(path.read_text().replace(
        "seed = 0\n", 'seed = 0\ncallbacks = [{ type = "tensorboard", log_dir = "runs" }]\n'))
    tune(TuneOptions(config=path, trials=2, say=lambda line: None))
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["trial-0", "trial-1"]
    for folder in (tmp_path / "runs").iterdir():
        assert len(list(folder.glob("events.out.tfevents.*"))) == 1
