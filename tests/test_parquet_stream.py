"""Streaming Parquet (``parquet`` reader, ``stream``): row groups read as training goes,
the seeded block-then-buffer shuffle, exact resume, errors, MPI shares and memory."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nnframe
from nnframe.datasets.parquet_stream import (
    SHUFFLE_BUFFER,
    BufferedReads,
    ParquetRows,
    block_buffer_order,
    parquet_rows,
)
from nnframe.datasets.streaming import is_streamed
from nnframe.errors import ConfigError, DataError
from tests.test_mpi import alone, mpiexec, needs_mpi, succeeded

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

FEATURES = [f"f{i}" for i in range(6)]


def write(path, n: int = 407, group: int = 50, seed: int = 0, **extra) -> tuple:
    """A Parquet file of ``n`` rows in row groups of ``group``: six number columns of
    mixed types (float64, float32, int64, bool), a text column and a class label."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    x[:, 2] = rng.integers(-5, 5, n)
    x[:, 3] = rng.integers(0, 2, n)
    columns = {"f0": x[:, 0], "f1": x[:, 1].astype(np.float32), "f2": x[:, 2].astype(np.int64),
               "f3": x[:, 3].astype(bool), "f4": x[:, 4], "f5": x[:, 5],
               "note": [f"row {i}" for i in range(n)],
               "label": (x[:, 0] + x[:, 4] > 0).astype(np.int64) + (x[:, 5] > 1)}
    columns.update(extra)
    pq.write_table(pa.table(columns), path, row_group_size=group)
    return x.astype(np.float32), columns["label"]


def network() -> nnframe.Network:
    return nnframe.Network([nnframe.layer("dense", output_size=8), nnframe.layer("tanh"),
                            nnframe.layer("dropout", rate=0.2),
                            nnframe.layer("dense", output_size=3)]).use("cross_entropy",
                                                                        "adam")


def dataset(path, **arguments) -> nnframe.FileDataset:
    return nnframe.dataset("parquet", path=path, target="label", drop=["note"], **arguments)


def assert_same_weights(a: nnframe.Network, b: nnframe.Network) -> None:
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(p.value, q.value, err_msg=p.key)


def prefetch_threads() -> list:
    import threading

    return [t for t in threading.enumerate() if t.name == "nnframe-prefetch" and t.is_alive()]


# -- rows of a file ------------------------------------------------------------------------


def test_rows_read_in_any_order_are_the_file_values_as_float32(tmp_path):
    x, _ = write(tmp_path / "d.parquet")
    rows = parquet_rows(tmp_path / "d.parquet", FEATURES)
    assert rows.shape == (407, 6) and rows.dtype == np.float32
    assert rows.group_rows == (50,) * 8 + (7,) and rows.buffer == SHUFFLE_BUFFER
    index = np.array([406, 3, 3, 49, 50, 0, 200])  # across row groups, repeated, unsorted
    np.testing.assert_array_equal(rows.read(index), x[index])
    np.testing.assert_array_equal(np.asarray(rows[100:300:7]), x[100:300:7])
    assert rows.reshape(len(rows), 2, 3).read([5]).shape == (1, 2, 3)
    in_memory = dataset(tmp_path / "d.parquet", stream=False).load()[0]
    np.testing.assert_array_equal(np.asarray(rows), in_memory)  # the same coding


def test_the_shuffle_is_seeded_a_permutation_and_reads_blocks_one_after_another():
    blocks = [np.arange(start, start + 100) for start in range(0, 2000, 100)]
    orders = [block_buffer_order(blocks, 250, np.random.default_rng(seed))
              for seed in (7, 7, 8)]
    np.testing.assert_array_equal(orders[0], orders[1])  # same seed, same order
    assert not np.array_equal(orders[0], orders[2])
    np.testing.assert_array_equal(np.sort(orders[0]), np.arange(2000))  # every row once
    # the first k rows come from the blocks added so far: at most (k + buffer) / 100 + 1
    rng = np.random.default_rng(7)
    first = rng.permutation(20)  # the block order the shuffle draws first
    for k in (1, 100, 333, 1500):
        seen = set(orders[0][:k] // 100)
        assert seen <= set(first[:(k + 250) // 100 + 1])
    # no buffer: each block's rows stay together; a buffer of every row: no block order
    whole = block_buffer_order(blocks, 0, np.random.default_rng(1))
    assert all(len(set(whole[i:i + 100] // 100)) == 1 for i in range(0, 2000, 100))
    mixed = block_buffer_order(blocks, 2000, np.random.default_rng(1))
    assert len(set(mixed[:100] // 100)) > 10
    with pytest.raises(ValueError, match="at least 0 rows"):
        block_buffer_order(blocks, -1, rng)


def test_a_rows_subset_shuffles_its_own_rows_by_their_row_groups(tmp_path):
    write(tmp_path / "d.parquet")
    rows = parquet_rows(tmp_path / "d.parquet", FEATURES, buffer=30)[np.arange(10, 400, 3)]
    order = rows.epoch_order(np.random.default_rng(0))
    np.testing.assert_array_equal(np.sort(order), np.arange(len(rows)))
    np.testing.assert_array_equal(order, rows.epoch_order(np.random.default_rng(0)))


def test_batches_are_read_with_a_pool_of_at_most_buffer_group_and_batch(tmp_path):
    x, _ = write(tmp_path / "d.parquet", n=1000, group=64)
    rows = parquet_rows(tmp_path / "d.parquet", FEATURES, buffer=100)
    order = rows.epoch_order(np.random.default_rng(3))
    reads = [order[i:i + 32] for i in range(0, 1000, 32)]
    reader = rows.batch_reader(reads)
    assert isinstance(reader, BufferedReads)
    assert reader.capacity <= 100 + 64 + 32
    decoded = []
    original = rows.decode
    object.__setattr__(rows, "decode", lambda file, group: (decoded.append(group),
                                                            original(file, group))[1])
    for index in reads:
        np.testing.assert_array_equal(reader.read(index), x[index])
    assert sorted(decoded) == list(range(16))  # every row group decoded once
    assert reader.free_count == reader.capacity  # every row taken
    # half the rows of each batch (one of two processes): a pool of about half
    halves = [r[:len(r) // 2] for r in reads]
    half = rows.batch_reader(halves)
    assert half.capacity <= (100 + 64 + 32) // 2 + 32
    for index in halves:
        np.testing.assert_array_equal(half.read(index), x[index])
    with pytest.raises(RuntimeError, match="out of the planned order"):
        rows.batch_reader(reads).read(reads[1])


# -- training -----------------------------------------------------------------------------


def test_an_unshuffled_stream_trains_the_in_memory_model_bit_for_bit(tmp_path):
    write(tmp_path / "d.parquet")
    fit = {"epochs": 3, "batch_size": 16, "seed": 5, "verbose": 0, "shuffle": False,
           "validation_split": 0.2}
    memory, streamed = network(), network()
    expected = memory.fit(dataset(tmp_path / "d.parquet", stream=False), **fit)
    data = dataset(tmp_path / "d.parquet", stream=True)
    assert is_streamed(data.read().inputs)
    history = streamed.fit(data, **fit)
    assert_same_weights(memory, streamed)
    assert history.history == expected.history  # validation rows read whole, alike
    assert memory.schema.feature_names == streamed.schema.feature_names == tuple(FEATURES)
    assert not prefetch_threads()


def test_the_same_seed_gives_the_same_shuffled_run_and_the_buffer_changes_it(tmp_path):
    write(tmp_path / "d.parquet")
    fit = {"epochs": 2, "batch_size": 16, "seed": 5, "verbose": 0}
    runs = []
    for buffer in (60, 60, 200):
        net = network()
        net.fit(dataset(tmp_path / "d.parquet", stream=True, shuffle_buffer=buffer), **fit)
        runs.append(net.parameters().values.copy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])
    memory = network()
    memory.fit(dataset(tmp_path / "d.parquet", stream=False), **fit)
    assert not np.array_equal(memory.parameters().values, runs[0])  # another order


class StopAt(nnframe.Callback):
    def __init__(self, epoch: int, batch: int, how: str) -> None:
        self.at, self.how, self.epoch = (epoch, batch), how, None

    def on_epoch_begin(self, epoch, logs):
        self.epoch = epoch

    def on_batch_end(self, batch, logs):
        if (self.epoch, batch) == self.at:
            if self.how == "interrupt":
                raise KeyboardInterrupt  # as Ctrl-C does
            self.network.stop_training = True


@pytest.mark.parametrize("how", ["stop", "interrupt"])
def test_stopping_inside_an_epoch_then_resuming_is_the_uninterrupted_run(tmp_path, how):
    write(tmp_path / "d.parquet", n=300, group=32)
    rows = parquet_rows(tmp_path / "d.parquet", FEATURES, buffer=40)
    y = pq.read_table(tmp_path / "d.parquet", columns=["label"]).column(0).to_numpy()
    fit = {"batch_size": 16, "verbose": 0, "epochs": 3}
    whole = network()
    whole.fit(rows, y, seed=3, **fit)
    stopped = network()
    if how == "stop":
        stopped.fit(rows, y, seed=3, callbacks=[StopAt(1, 6, how)], **fit)
    else:
        with pytest.raises(KeyboardInterrupt):
            stopped.fit(rows, y, seed=3, callbacks=[StopAt(1, 6, how)], **fit)
    assert stopped.epoch == 1 and stopped.resume_point["batch"] == 7
    assert not prefetch_threads()  # the reading thread stopped with training
    resumed = nnframe.load(stopped.save(tmp_path / "stopped.npz"))
    resumed.fit(rows, y, initial_epoch=resumed.epoch, **fit)
    assert_same_weights(whole, resumed)


# -- errors -------------------------------------------------------------------------------


def test_a_missing_or_bad_value_stops_training_naming_the_row_group_and_row(tmp_path):
    values = np.arange(300, dtype=np.float64)
    nulls = pa.array([None if i == 233 else float(i) for i in range(300)])
    write(tmp_path / "null.parquet", n=300, group=40, gap=nulls)
    values[171] = np.inf
    write(tmp_path / "inf.parquet", n=300, group=40, gap=values)
    for name, message in (("null", r"null.parquet: row group 5, row 233, column 'gap': "
                                   r"the value is missing"),
                          ("inf", r"inf.parquet: row group 4, row 171: holds NaN or "
                                  r"infinite values")):
        with pytest.raises(DataError, match=message):
            network().fit(dataset(tmp_path / f"{name}.parquet", stream=True), epochs=1,
                          batch_size=8, seed=0, verbose=0)
        assert not prefetch_threads()


def test_an_unknown_class_in_streamed_rows_is_named_by_row_group_and_row(tmp_path):
    _, y = write(tmp_path / "a.parquet", n=200)
    write(tmp_path / "b.parquet", n=200, label=np.where(np.arange(200) == 130, 7, y))
    net = network()
    net.fit(dataset(tmp_path / "a.parquet", stream=True), epochs=1, verbose=0)
    with pytest.raises(DataError, match=r"b.parquet: row group 2, row 130, column 'label': "
                                        r"the class '7' was not in the training data"):
        net.evaluate(dataset(tmp_path / "b.parquet", stream=True))


def test_what_cannot_stream_is_a_clear_error_or_read_into_memory(tmp_path):
    write(tmp_path / "d.parquet")
    path = tmp_path / "d.parquet"
    with pytest.raises(DataError, match=r"'note' \(string\) is not.*leave stream unset"):
        nnframe.dataset("parquet", path=path, target="label", stream=True).read()
    with pytest.raises(DataError, match="missing = 'drop' needs every row in memory"):
        dataset(path, stream=True, missing="drop").read()
    with pytest.raises(DataError, match="codes no categories"):
        dataset(path, stream=True, categorical=["f2"]).read()
    with pytest.raises(DataError, match="needs a target column"):
        nnframe.dataset("parquet", path=path, drop=["note", "label"], stream=True).read()
    with pytest.raises(DataError, match=r"no column 'nope'"):
        parquet_rows(path, ["f0", "nope"])
    with pytest.raises(ConfigError, match="shuffle_buffer must be a number of rows"):
        dataset(path, shuffle_buffer=-3)


def test_the_automatic_rule_streams_parquet_that_would_not_fit(tmp_path, monkeypatch):
    write(tmp_path / "d.parquet")
    path = tmp_path / "d.parquet"
    assert not is_streamed(dataset(path).read().inputs)
    monkeypatch.setattr("nnframe.datasets.streaming.physical_memory", lambda: 1000)
    assert isinstance(dataset(path).read().inputs, ParquetRows)
    # text features cannot stream: read into memory, as before, when not asked to
    assert not is_streamed(nnframe.dataset("parquet", path=path, target="label").read()
                           .inputs)
    assert not is_streamed(dataset(path, stream=False).read().inputs)


def test_a_config_with_stream_true_trains_and_the_model_predicts_parquet(tmp_path):
    from typer.testing import CliRunner

    from nnframe.cli import app

    write(tmp_path / "d.parquet")
    config = tmp_path / "c.toml"
    config.write_text(textwrap.dedent("""
        [model]
        layers = [{ type = "dense", output_size = 8 }, { type = "relu" },
                  { type = "dense", output_size = 3 }]
        [loss]
        type = "cross_entropy"
        [optimizer]
        type = "adam"
        [data]
        test_split = 0.2
        validation_split = 0.1
        [data.dataset]
        type = "parquet"
        path = "d.parquet"
        target = "label"
        drop = ["note"]
        stream = true
        shuffle_buffer = 100
        [train]
        epochs = 2
        batch_size = 16
        seed = 0
        """))
    runner = CliRunner()
    result = runner.invoke(app, ["train", str(config), "-o", str(tmp_path / "m.npz")])
    assert result.exit_code == 0, result.output
    assert "read from disk batch by batch (stream)" in result.output
    model = nnframe.load(tmp_path / "m.npz")
    columns = model.predict_file(tmp_path / "d.parquet")
    assert len(columns["label"]) == 407


# -- several processes --------------------------------------------------------------------

PROGRAM = """
import json, sys
import numpy as np
import nnframe
from nnframe.datasets import parquet_stream

kept = {"rows": 0}
load = parquet_stream.BufferedReads._load
def counting(self, which):
    kept["rows"] += int(self.group_counts[which])
    load(self, which)
parquet_stream.BufferedReads._load = counting

path, out, strategy = sys.argv[1], sys.argv[2], sys.argv[3]
net = nnframe.Network([nnframe.layer("dense", output_size=16), nnframe.layer("tanh"),
                       nnframe.layer("dense", output_size=3)]).use("cross_entropy", "adam")
data = nnframe.dataset("parquet", path=path, target="label", drop=["note"], stream=True,
                       shuffle_buffer=64)
net.fit(data, epochs=2, batch_size=32, seed=0, verbose=0,
        strategy=None if strategy == "none" else strategy)
rank = 0
if strategy != "none":
    from mpi4py import MPI
    rank = MPI.COMM_WORLD.Get_rank()
np.save(f"{out}.{rank}.npy", net.parameters().values)
with open(f"{out}.kept.{rank}.json", "w") as file:
    json.dump(kept, file)
"""


@needs_mpi
def test_each_process_keeps_only_its_share_and_trains_the_one_process_model(tmp_path):
    import json

    write(tmp_path / "d.parquet", n=640, group=40)
    script = tmp_path / "program.py"
    script.write_text(PROGRAM)
    run = (sys.executable, script, tmp_path / "d.parquet")
    succeeded(alone(*run, tmp_path / "one", "none"))
    succeeded(mpiexec(*run, tmp_path / "two", "mpi"))
    one = np.load(tmp_path / "one.0.npy")
    rank0, rank1 = np.load(tmp_path / "two.0.npy"), np.load(tmp_path / "two.1.npy")
    np.testing.assert_array_equal(rank0, rank1)
    assert float(np.abs(one - rank0).max()) < 1e-5
    assert json.loads((tmp_path / "one.kept.0.json").read_text())["rows"] == 2 * 640
    for rank in (0, 1):  # its 16 rows of every batch of 32, two epochs
        kept = json.loads((tmp_path / f"two.kept.{rank}.json").read_text())["rows"]
        assert kept == 640


# -- memory -------------------------------------------------------------------------------

CHILD = """
import sys, numpy as np, nnframe
from nnframe.datasets.parquet_stream import parquet_rows
rows = parquet_rows(sys.argv[1], [f"c{i}" for i in range(200)], buffer=2000)
y = np.resize(np.arange(10), len(rows))
net = nnframe.Network([nnframe.layer("dense", output_size=10)])
net.use("cross_entropy", "sgd").fit(rows, y, epochs=1, batch_size=256, seed=0, verbose=0)
status = open("/proc/self/status").read()
print(int(status.split("VmHWM:")[1].split()[0]) // 1024)
"""


def write_wide(path, rows: int) -> None:
    """``rows`` rows of 200 float32 columns (800 bytes a row), row groups of 5,000 rows,
    written a row group at a time."""
    chunk = np.random.default_rng(0).random((5000, 200), np.float32)
    table = pa.table({f"c{i}": chunk[:, i] for i in range(200)})
    with pq.ParquetWriter(path, table.schema, compression="none") as writer:
        for _ in range(rows // 5000):
            writer.write_table(table)


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"),
                    reason="reads the peak memory from /proc/self/status (Linux)")
@pytest.mark.xfail(int(pa.__version__.split(".")[0]) < 15, strict=False,
                   reason="with pyarrow 14 (the arrow extra's lower bound) the 320 MB file "
                          "peaked at 506 MB in some runs (265 MB in others); not yet "
                          "understood, recorded as an open problem")
def test_a_streamed_parquet_epoch_holds_the_buffer_not_the_file(tmp_path):
    env = {**os.environ, "NNFRAME_KERNELS": "reference"}  # see test_streaming's memory test
    peaks = {}
    for rows in (50_000, 400_000):  # 40 MB and 320 MB of values
        path = tmp_path / f"{rows}.parquet"
        write_wide(path, rows)
        done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True,
                              text=True, timeout=600, check=False, env=env)
        path.unlink()
        assert done.returncode == 0, done.stderr
        peaks[rows] = int(done.stdout.split()[-1])
    print(f"\npeak resident memory of a streamed Parquet epoch: {peaks} MB")
    # 280 MB more values add their labels, the epoch's order and the reader's indices
    # (about 40 bytes a row) and pyarrow's larger footer: not the 800 bytes a row of data
    assert peaks[400_000] - peaks[50_000] < 40
    # below the values' own size: they cannot be in memory whole (the interpreter, NumPy and
    # pyarrow take 130-240 MB of it depending on their versions)
    assert peaks[400_000] < 320
