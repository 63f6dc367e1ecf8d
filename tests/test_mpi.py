"""Data-parallel training on MPI (``nnframe[mpi]``): ``mpiexec -n 2`` runs of
tests/mpi_program.py and of ``nnframe train``, compared with one process; failures that
must stop every process; and the parts that need no MPI at all.

The ``mpiexec`` tests need mpi4py and an ``mpiexec`` (the ``mpich`` wheel installs one
beside the Python executable); the nox tests session installs both.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import nnframe
from nnframe.distributed import Launch, Strategy, launch, resolve
from nnframe.distributed.mpi import _timeout
from nnframe.distributed.strategy import even_rows
from nnframe.errors import ConfigError

HERE = Path(__file__).resolve().parent
PROGRAM = HERE / "mpi_program.py"
NO_WRITES = HERE / "no_writes.py"
#: no run may take longer: a hang fails the test instead of blocking the suite
LIMIT_S = 120


def find_mpiexec() -> str | None:
    """The mpiexec installed beside this Python (the mpich wheel's), else one on PATH."""
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


MPIEXEC = find_mpiexec()
needs_mpi = pytest.mark.skipif(
    MPIEXEC is None or importlib.util.find_spec("mpi4py") is None,
    reason="needs mpi4py and mpiexec: pip install 'nnframe[mpi]' (the nox tests session "
    "installs them)")


def environment(**extra: str) -> dict[str, str]:
    """One BLAS thread per process: two processes share this machine's cores."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    for name in ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "SLURM_STEP_ID"):
        env.pop(name, None)  # this test process may itself run under a launcher
    return {**env, **extra}


def mpiexec(*command: object, n: int = 2, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([MPIEXEC, "-n", str(n), *map(str, command)], capture_output=True,
                          text=True, timeout=LIMIT_S, cwd=cwd, env=env or environment())


def alone(*command: object, cwd: Path | None = None,
          env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(list(map(str, command)), capture_output=True, text=True,
                          timeout=LIMIT_S, cwd=cwd, env=env or environment())


def program(*options: object) -> tuple[str, ...]:
    return (sys.executable, str(PROGRAM), *map(str, options))


def nnframe_cli(*arguments: object) -> tuple[str, ...]:
    return (sys.executable, "-m", "nnframe", *map(str, arguments))


def succeeded(run: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    return run


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("nnframe: error:")]


# -- the same model as one process -------------------------------------------------------


@needs_mpi
@pytest.mark.parametrize(("optimizer", "rows", "batch"), [
    ("sgd", 2000, 32),  # momentum 0.9
    ("adam", 2000, 32),
    ("sgd", 1601, 32),  # the last batch has one row: rank 1 has none of it
    ("adam", 1999, 33),  # every batch splits 17 / 16
])
def test_two_processes_train_the_one_process_model(tmp_path, optimizer, rows, batch):
    options = ("--optimizer", optimizer, "--rows", rows, "--batch", batch)
    succeeded(alone(*program(*options, "--strategy", "none", "--out", tmp_path / "one")))
    succeeded(mpiexec(*program(*options, "--out", tmp_path / "two")))
    one = np.load(tmp_path / "one.0.npy")
    rank0, rank1 = np.load(tmp_path / "two.0.npy"), np.load(tmp_path / "two.1.npy")
    # Exact between ranks: each applies the same allreduced gradient to the same weights.
    np.testing.assert_array_equal(rank0, rank1)
    difference = float(np.abs(one - rank0).max())
    print(f"\n{optimizer}, {rows} samples, batch {batch}, 2 epochs: max abs weight "
          f"difference between 1 and 2 processes {difference:.2e}")
    # Close, not equal, to one process: the allreduce adds the two shards' gradients in
    # another order than one process's batch sum; float32 rounding (~1e-7 relative a step)
    # accumulates over the steps of 2 epochs to well under 1e-5.
    assert difference < 1e-5
    logs_one = json.loads((tmp_path / "one.json").read_text())["history"]
    logs_two = json.loads((tmp_path / "two.json").read_text())["history"]
    assert logs_one.keys() == logs_two.keys() == {"loss", "accuracy", "val_loss",
                                                  "val_accuracy"}
    for key in logs_one:  # the loss is the global mean; metrics see every sample once
        np.testing.assert_allclose(logs_two[key], logs_one[key], rtol=1e-5, atol=1e-6)


def compare_with_one_process(tmp_path: Path, *options: object, n: int = 2) -> dict:
    """Train with ``options`` on one process and on ``n``; check that every rank holds
    the same weights and optimizer state, within 1e-5 of one process's, in its layout.
    Returns rank 0's JSON record of the run on ``n`` processes."""
    succeeded(alone(*program(*options, "--strategy", "none", "--out", tmp_path / "one")))
    succeeded(mpiexec(*program(*options, "--out", tmp_path / "two"), n=n))
    one = np.load(tmp_path / "one.0.npy")
    rank0 = np.load(tmp_path / "two.0.npy")
    for rank in range(1, n):  # every rank gathered every slice
        np.testing.assert_array_equal(np.load(tmp_path / f"two.{rank}.npy"), rank0)
    assert float(np.abs(one - rank0).max()) < 1e-5
    state_one = np.load(tmp_path / "one.optimizer.0.npz")
    for rank in range(n):  # the whole state on every process, as one process lays it out
        state = np.load(tmp_path / f"two.optimizer.{rank}.npz")
        assert list(state.keys()) == list(state_one.keys())
        for name in state_one:
            assert state[name].shape == state_one[name].shape, name
            np.testing.assert_allclose(state[name], state_one[name], rtol=1e-4, atol=1e-5,
                                       err_msg=name)
    return json.loads((tmp_path / "two.json").read_text())


@needs_mpi
@pytest.mark.parametrize("optimizer", ["sgd", "sgd-nesterov", "adam", "adamw", "rmsprop",
                                       "rmsprop-centered"])
def test_the_sharded_step_trains_the_one_process_model(tmp_path, optimizer):
    """Each process steps its half of the buffers and keeps state for it alone (rows
    1999 in batches of 33: uneven shares and a short last batch)."""
    record = compare_with_one_process(tmp_path, "--optimizer", optimizer, "--rows", 1999,
                                      "--batch", 33)
    assert record["sharded"] is True


@needs_mpi
def test_three_processes_step_slices_of_different_sizes(tmp_path):
    """The network's 25,450 numbers do not split three ways evenly: the slices differ
    in size (gathered with Allgatherv rather than Allgather)."""
    record = compare_with_one_process(tmp_path, "--optimizer", "adam", "--rows", 600,
                                      "--batch", 30, n=3)
    assert record["sharded"] is True


@needs_mpi
def test_the_sharded_step_clips_to_the_global_norm(tmp_path):
    """clip_norm 0.5 clips most batches: each process's slice is scaled by the norm of
    the whole gradient (slices' sums of squares summed), not by its own slice's."""
    record = compare_with_one_process(tmp_path, "--optimizer", "adam", "--clip-norm", 0.5)
    assert record["sharded"] is True


@needs_mpi
@pytest.mark.parametrize(("options", "why"), [
    (("--optimizer", "normalized"), "an optimizer that does not say it is element-wise"),
    (("--optimizer", "adam", "--whole-step"), "MPIStrategy(shard_step=False)"),
])
def test_the_whole_step_where_the_step_cannot_be_sharded(tmp_path, options, why):
    """`normalized` divides each parameter's step by its gradient's norm: sharded, the
    parameter cut between the two processes would be stepped by two other norms."""
    record = compare_with_one_process(tmp_path, *options)
    assert record["sharded"] is False, why


@needs_mpi
@pytest.mark.parametrize("sharded", [True, False])
def test_a_gradient_not_finite_on_one_process_stops_every_process(tmp_path, sharded):
    """Rank 1 alone gets a NaN gradient, in the last numbers of the buffer (rank 1's
    slice): every process raises the one-process error after the same batch, with no
    step taken, and holds the same finite weights and the whole optimizer state."""
    options = ("--optimizer", "adam", "--out", tmp_path / "out", "--misbehave",
               "nan-gradient", "--on-rank", 1, "--at-batch", 3)
    succeeded(mpiexec(*program(*options, *(() if sharded else ("--whole-step",)))))
    for rank in (0, 1):
        message = (tmp_path / f"out.diverged.{rank}.txt").read_text()
        assert "gave NaN or infinite gradients at epoch 1, batch 3" in message
        assert "the weights were not updated" in message
    rank0, rank1 = np.load(tmp_path / "out.0.npy"), np.load(tmp_path / "out.1.npy")
    np.testing.assert_array_equal(rank0, rank1)
    assert np.isfinite(rank0).all()
    states = [np.load(tmp_path / f"out.optimizer.{rank}.npz") for rank in (0, 1)]
    assert int(states[0]["iterations"]) == int(states[1]["iterations"]) == 2
    for name in states[0]:
        np.testing.assert_array_equal(states[0][name], states[1][name])
    assert states[0]["1.weights/m"].shape == (784, 32)  # the whole state, as saved


@needs_mpi
def test_a_model_saved_by_a_sharded_run_continues_in_one_process(tmp_path):
    """Stopped inside its first epoch, a sharded run saves one whole model from rank 0,
    with the optimizer state laid out as one process lays it out; resumed in one process
    it continues to the model of an uninterrupted one-process run."""
    options = ("--optimizer", "adam")
    succeeded(alone(*program(*options, "--strategy", "none", "--out", tmp_path / "one")))
    run = mpiexec(*program(*options, "--out", tmp_path / "part", "--misbehave", "stop",
                           "--on-rank", 1, "--at-batch", 5))
    succeeded(run)
    assert json.loads((tmp_path / "part.json").read_text())["sharded"] is True
    stopped = nnframe.load(tmp_path / "part.npz")
    state = stopped.optimizer.state_dict()
    assert state["iterations"] == 7  # asked after batch 5 (index), stopped after 7 batches
    shapes = {p.key: p.value.shape for p in stopped.parameters()}
    assert sorted(state) == sorted([f"{key}/{slot}" for key in shapes for slot in "mv"]
                                   + ["iterations"])
    for name, array in state.items():
        if name != "iterations":
            assert array.shape == shapes[name.split("/")[0]] and np.abs(array).max() > 0
    succeeded(alone(*program("--resume", tmp_path / "part.npz", "--strategy", "none",
                             "--out", tmp_path / "resumed")))
    np.testing.assert_allclose(np.load(tmp_path / "resumed.0.npy"),
                               np.load(tmp_path / "one.0.npy"), atol=1e-5, rtol=0)


@needs_mpi
def test_a_stop_asked_on_one_process_stops_all_and_resumes_exactly(tmp_path):
    """Rank 1 alone asks to stop inside the first epoch (as Ctrl-C may reach one process
    first); every process stops after the same batch (the next one: requests travel with
    the next batch's gradients), and resuming from rank 0's file gives the uninterrupted
    run's weights, dropout masks included."""
    succeeded(mpiexec(*program("--dropout", "--out", tmp_path / "whole")))
    succeeded(mpiexec(*program("--dropout", "--out", tmp_path / "part", "--misbehave",
                               "stop", "--on-rank", 1, "--at-batch", 5)))
    stopped = nnframe.load(tmp_path / "part.npz")
    assert stopped.epoch == 0 and stopped.resume_point["batch"] == 7  # asked after batch 5
    succeeded(mpiexec(*program("--resume", tmp_path / "part.npz", "--out",
                               tmp_path / "resumed")))
    # Exact: the resumed run replays the same batches on the same two processes, with the
    # same shards, so every sum runs in the same order as in the uninterrupted run.
    np.testing.assert_array_equal(np.load(tmp_path / "resumed.0.npy"),
                                  np.load(tmp_path / "whole.0.npy"))
    np.testing.assert_array_equal(np.load(tmp_path / "resumed.1.npy"),
                                  np.load(tmp_path / "whole.0.npy"))


@needs_mpi
def test_running_statistics_are_averaged_across_processes(tmp_path):
    """Running means of the inputs, per share of each batch and averaged across processes,
    are the running means one process keeps of the whole batches (equal shares)."""
    pytest.importorskip("nnframe_example", reason="needs tests/plugin_dist/nnframe-example")
    options = ("--state", "--batch", 32)
    succeeded(alone(*program(*options, "--strategy", "none", "--out", tmp_path / "one")))
    succeeded(mpiexec(*program(*options, "--out", tmp_path / "two")))
    one = np.load(tmp_path / "one.state.0.npz")["1.running_mean"]
    rank0 = np.load(tmp_path / "two.state.0.npz")["1.running_mean"]
    rank1 = np.load(tmp_path / "two.state.1.npz")["1.running_mean"]
    np.testing.assert_array_equal(rank0, rank1)
    assert np.abs(one).max() > 0.1
    np.testing.assert_allclose(rank0, one, rtol=1e-5, atol=1e-6)


# -- failures stop every process -----------------------------------------------------------


@needs_mpi
def test_a_process_with_bad_data_stops_every_process(tmp_path):
    run = mpiexec(*program("--out", tmp_path / "out", "--misbehave", "bad-data"))
    assert run.returncode == 2, run.stderr
    assert error_lines(run.stderr) == [
        "nnframe: error: rank 1 of 2: y: cross_entropy: label 10 is out of range for 10 "
        "classes; labels must lie in [0, 10)"]
    assert not list(tmp_path.iterdir())


@needs_mpi
def test_a_process_that_raises_while_training_stops_every_process(tmp_path):
    run = mpiexec(*program("--out", tmp_path / "out", "--misbehave", "raise"))
    assert run.returncode == 1, run.stderr
    assert error_lines(run.stderr) == [
        "nnframe: error: rank 1 of 2: RuntimeError: a callback failed on purpose"]
    assert "Traceback" in run.stderr  # a script's error keeps its traceback


@needs_mpi
def test_a_killed_process_stops_every_process(tmp_path):
    run = mpiexec(*program("--out", tmp_path / "out", "--misbehave", "kill"))
    assert run.returncode != 0
    assert not list(tmp_path.iterdir())


@needs_mpi
def test_a_process_that_stops_answering_is_caught_by_the_watchdog(tmp_path):
    """Rank 1 stops itself (SIGSTOP): the launcher sees nothing wrong, but rank 0 waits
    in vain and gives up after NNFRAME_MPI_TIMEOUT seconds."""
    run = mpiexec(*program("--out", tmp_path / "out", "--misbehave", "sigstop"),
                  env=environment(NNFRAME_MPI_TIMEOUT="2"))
    assert run.returncode != 0
    assert error_lines(run.stderr) == [
        "nnframe: error: rank 0 of 2: no answer from the other processes for 2 s (one of "
        "them died or hangs); stopping (the limit is $NNFRAME_MPI_TIMEOUT)"]


# -- nnframe train under mpiexec ---------------------------------------------------------

CONFIG = """
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
momentum = 0.9
[data]
dataset = "mnist_sample"
subset = 600
test_subset = 100
validation_split = 0.2
flatten = true
[train]
epochs = 2
batch_size = 25
seed = 0
callbacks = [{ type = "csv_logger", path = "log.csv" }]
"""


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "cfg.toml"
    path.write_text(textwrap.dedent(CONFIG))
    return path


def without_timings(text: str) -> str:
    return re.sub(r" - \d+\.\d+s - ", " - ", text)


@needs_mpi
def test_nnframe_train_on_two_processes_prints_and_writes_on_rank_0_alone(tmp_path, config):
    """Rank 1 runs where writing any file raises: checkpoints, the CSV log, the model
    and the plot come from rank 0, and every line is printed once."""
    arguments = ("train", config, "-o", "model.npz", "--checkpoint-every", 1)
    if importlib.util.find_spec("matplotlib") is not None:
        arguments += ("--plot", "curves.png")
    run = succeeded(mpiexec(*nnframe_cli(*arguments), ":", "-n", 1, sys.executable,
                            NO_WRITES, *arguments, n=1, cwd=tmp_path))
    lines = run.stdout.splitlines()
    assert lines[1].endswith("batch size 25, split over 2 processes (MPI)"), lines
    assert [line.split(" - ")[0] for line in lines if line.startswith("epoch")] == [
        "epoch 1/2", "epoch 2/2"]
    assert sum(line.startswith("saved the model to") for line in lines) == 1
    assert run.stderr == ""
    assert len((tmp_path / "log.csv").read_text().splitlines()) == 3
    assert nnframe.load(tmp_path / "model.npz").epoch == 2


@needs_mpi
def test_nnframe_train_resumes_on_two_processes(tmp_path, config):
    succeeded(mpiexec(*nnframe_cli("train", config, "-o", "whole.npz", "-q"), cwd=tmp_path))
    succeeded(mpiexec(*nnframe_cli("train", config, "-o", "half.npz", "--epochs", 1, "-q"),
                      cwd=tmp_path))
    run = succeeded(mpiexec(*nnframe_cli("train", config, "-o", "resumed.npz", "--resume",
                                         "half.npz"), cwd=tmp_path))
    assert "resuming from half.npz after epoch 1" in run.stdout
    whole, resumed = nnframe.load(tmp_path / "whole.npz"), nnframe.load(tmp_path / "resumed.npz")
    np.testing.assert_array_equal(resumed.parameters().values, whole.parameters().values)
    assert resumed.optimizer.state_dict().keys() == whole.optimizer.state_dict().keys()


@needs_mpi
def test_ranks_given_different_settings_are_refused_before_training(tmp_path, config):
    """``mpiexec -n 1 nnframe train ok.toml : -n 1 nnframe train lr2.toml`` trained to a
    model matching neither: every component's config is compared at the start."""
    other = tmp_path / "lr2.toml"
    other.write_text(config.read_text().replace("learning_rate = 0.1", "learning_rate = 0.2"))
    run = mpiexec(*nnframe_cli("train", config, "-q"), ":", "-n", 1,
                  *nnframe_cli("train", other, "-q"), n=1, cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    [line] = error_lines(run.stderr)
    assert "the processes were not given the same training run: optimizer is" in line
    assert '"learning_rate": 0.1, ' in line and '"learning_rate": 0.2, ' in line
    assert line.endswith("on rank 1; every process must load the same data and call fit "
                         "with the same arguments")
    assert not (tmp_path / "cfg.npz").exists()


@needs_mpi
def test_one_process_under_mpiexec_trains_as_without_it(tmp_path, config):
    """``mpiexec -n 1`` is plain training: the same lines, the same model, and mpi4py is
    never imported (here it cannot be)."""
    no_mpi4py = ("import sys; sys.modules['mpi4py'] = None; from nnframe.cli import main; "
                 "main(sys.argv[1:])")
    plain = succeeded(alone(*nnframe_cli("train", config, "-o", "plain.npz"), cwd=tmp_path))
    one = succeeded(mpiexec(sys.executable, "-c", no_mpi4py, "train", config, "-o", "one.npz",
                            n=1, cwd=tmp_path))
    assert without_timings(one.stdout).replace("one.npz", "plain.npz") == \
        without_timings(plain.stdout)
    np.testing.assert_array_equal(nnframe.load(tmp_path / "one.npz").parameters().values,
                                  nnframe.load(tmp_path / "plain.npz").parameters().values)


# -- what needs no MPI ---------------------------------------------------------------------


@pytest.mark.parametrize(("rank", "expected_err"), [
    ("0", "nnframe: error: training on several processes needs mpi4py, which is not "
          "installed: pip install 'nnframe[mpi]'\n"),
    ("1", ""),  # rank 0 says it once
])
def test_a_parallel_launch_without_mpi4py_names_the_extra(tmp_path, config, rank,
                                                          expected_err):
    no_mpi4py = ("import sys; sys.modules['mpi4py'] = None; from nnframe.cli import main; "
                 "main(sys.argv[1:])")
    run = alone(sys.executable, "-c", no_mpi4py, "train", config, cwd=tmp_path,
                env=environment(PMI_SIZE="2", PMI_RANK=rank))
    assert (run.returncode, run.stdout, run.stderr) == (2, "", expected_err)


@pytest.mark.parametrize(("variables", "expected"), [
    ({}, Launch()),
    ({"PMI_SIZE": "4", "PMI_RANK": "3"}, Launch(4, 3, "PMI_SIZE")),
    ({"PMI_SIZE": "1", "PMI_RANK": "0"}, Launch(1, 0, "PMI_SIZE")),
    ({"OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "1"},
     Launch(2, 1, "OMPI_COMM_WORLD_SIZE")),
    ({"SLURM_STEP_ID": "0", "SLURM_STEP_NUM_TASKS": "8", "SLURM_PROCID": "5"},
     Launch(8, 5, "SLURM_STEP_NUM_TASKS")),
    ({"SLURM_NTASKS": "8", "SLURM_PROCID": "0"}, Launch()),  # a batch script, no srun
    ({"PMI_SIZE": "many", "PMI_RANK": "0"}, Launch()),
])
def test_the_launcher_is_read_from_the_environment(variables, expected):
    assert launch(variables) == expected
    assert launch(variables).parallel == (expected.size > 1)


def test_every_row_of_a_batch_goes_to_exactly_one_process():
    for size in (1, 2, 3, 7):
        for begin, end in ((0, 32), (64, 97), (10, 12), (5, 5)):
            shares = [even_rows(begin, end, rank, size) for rank in range(size)]
            assert shares[0][0] == begin and shares[-1][1] == end
            assert all(a[1] == b[0] for a, b in itertools.pairwise(shares))
            counts = [stop - start for start, stop in shares]
            assert max(counts) - min(counts) <= 1 and counts == sorted(counts, reverse=True)


def test_a_strategy_is_named_or_given():
    assert type(resolve(None)) is Strategy
    mine = Strategy()
    assert resolve(mine) is mine
    with pytest.raises(ConfigError,
                       match="strategy must be None, 'auto', 'mpi' or 'threads', or a"):
        resolve("thread")
    assert type(resolve("auto")) is Strategy  # no launcher here: one process


def test_the_watchdog_limit_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("NNFRAME_MPI_TIMEOUT", "2.5")
    assert _timeout(None) == 2.5
    monkeypatch.setenv("NNFRAME_MPI_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match=r"\$NNFRAME_MPI_TIMEOUT must be a number"):
        _timeout(None)
    monkeypatch.delenv("NNFRAME_MPI_TIMEOUT")
    assert _timeout(None) == 600.0


def small_network() -> nnframe.Network:
    return nnframe.Network([nnframe.layer("dense", 4, 3), nnframe.layer("tanh"),
                            nnframe.layer("dense", 3, 2)]).use("cross_entropy", "sgd")


def test_a_batch_smaller_than_the_processes_is_refused(rng):
    class FourProcesses(Strategy):
        size = 4

    with pytest.raises(ConfigError, match="batch_size 2 is smaller than the 4 processes"):
        small_network().fit(rng.random((8, 4)), np.arange(8) % 2, batch_size=2,
                            strategy=FourProcesses(), verbose=0)


def test_callbacks_that_print_or_write_run_on_rank_0_alone(tmp_path, rng, capsys):
    """On a process other than rank 0, the CSV logger, checkpoints and the progress lines
    are left out; other callbacks (early stopping) still run and stop training."""

    class SecondProcess(Strategy):
        rank = 1

    early = nnframe.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)
    history = small_network().fit(
        rng.random((8, 4)), np.arange(8) % 2, epochs=5, batch_size=4, verbose=2,
        strategy=SecondProcess(),
        callbacks=[nnframe.CSVLogger(tmp_path / "log.csv"), early,
                   nnframe.ModelCheckpoint(tmp_path / "ckpt.npz")])
    assert capsys.readouterr().out == ""
    assert not list(tmp_path.iterdir())
    assert len(history.epoch) == 2 and early.stopped_epoch == 1


def test_training_in_one_process_never_imports_mpi4py():
    code = ("import sys, numpy as np, nnframe\n"
            "net = nnframe.Network([nnframe.layer('dense', 2, 1)]).use('mse', 'sgd')\n"
            "net.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=1, verbose=0)\n"
            "net.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0, strategy='auto')\n"
            "print('mpi4py' in sys.modules)")
    run = succeeded(alone(sys.executable, "-c", code))
    assert run.stdout.strip() == "False"


def test_the_no_writes_guard_refuses_writes(tmp_path):
    """The guard that tests rank 1 of ``nnframe train`` does catch a write."""
    run = alone(sys.executable, NO_WRITES, "train", tmp_path / "missing.toml", "-o",
                tmp_path / "out.npz")
    assert run.returncode == 2  # the config is missing: nothing to write, nothing written
    code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); import no_writes; "
            "no_writes.guard(); open('x.txt', 'w')")
    run = alone(sys.executable, "-c", code, cwd=tmp_path)
    assert run.returncode == 1 and "must not write files, but it wrote x.txt" in run.stderr
    assert not (tmp_path / "x.txt").exists()


def test_the_scaling_benchmark_reports_t1_over_2_t2():
    from benchmarks.mpi_scaling import summarize

    def result(*ranks: tuple[float, float, float]) -> dict:
        return {"ranks": [{"wall_s": w, "cpu_s": c, "collectives_s": s,
                           "optimizer_cpu_s": c / 5} for w, c, s in ranks],
                "samples": 1000, "data": "MNIST", "batches": 8, "batch_size": 128,
                "parameters": 10}

    rounds = [{1: result((2.0, 2.0, 0.0)), 2: result((1.0, 0.8, 0.2), (1.1, 1.2, 0.2)),
               "whole": result((1.25, 1.0, 0.25), (1.2, 1.5, 0.3)),
               "halves": result((1.0, 1.0, 0.0), (1.1, 1.1, 0.0))}]
    text = summarize(rounds, {"bytes": 40, "gradients_us": 210.0, "two_numbers_us": 4.0},
                     (0.5, 1.5))
    assert "load average 0.5 before, 1.5 after" in text
    assert ("| 1 | 2.00 s, 2.00 s | 1.10 s, 2.00 s, 0.20 s | 1.25 s, 2.50 s, 0.28 s | "
            "1.10 s | 91%, 80% | 91% | 100% |") in text
    assert "step sharded: median 91% (91% to 91%); by CPU time 100%" in text
    assert "whole step: median 80% (80% to 80%); by CPU time 80%" in text
    # the ceiling: the slower of the two independent halves, T1 / (2 x 1.1)
    assert "T1 / (2 T_halves): median 91% (91% to 91%)" in text
    assert "efficiency / ceiling, step sharded: median 100% (100% to 100%); whole step: " \
        "median 88% (88% to 88%)" in text
    assert "optimizer steps, CPU time of the busier process (median): 1 process 0.40 s, " \
        "sharded 0.24 s, whole step 0.30 s" in text
