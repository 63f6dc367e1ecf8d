"""Streaming the user's data from disk (``stream``): rows read batch by batch, ahead of
the compute on a background thread, giving exactly the in-memory run's model."""

from __future__ import annotations

import json
import os
import threading

import numpy as np
import pytest

import nnframe
from nnframe.datasets import streaming
from nnframe.datasets.streaming import (
    FileRows,
    MappedRows,
    is_streamed,
    npy_rows,
    npz_rows,
    streams,
)
from nnframe.errors import ConfigError, DataError
from nnframe.speed.prefetch import Prefetch
from tests.test_mpi import alone, mpiexec, needs_mpi, program, succeeded


def images(n: int = 203, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 "images" (n, 6, 5) and class labels: converted to float32 per batch."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 6, 5), dtype=np.uint8), rng.integers(0, 4, n)


def network(dropout: bool = False) -> nnframe.Network:
    layers = [nnframe.layer("flatten"), nnframe.layer("dense", output_size=16),
              nnframe.layer("relu")]
    if dropout:
        layers.append(nnframe.layer("dropout", rate=0.2))
    layers.append(nnframe.layer("dense", output_size=4))
    return nnframe.Network(layers).use("cross_entropy", "adam")


def assert_same_weights(a: nnframe.Network, b: nnframe.Network) -> None:
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(p.value, q.value, err_msg=p.key)


@pytest.fixture(params=["mapped", "row by row"])
def read_way(request, monkeypatch):
    """Both ways of reading a small file's rows: memory-mapped (the default for a file
    of at most ``MAP_LIMIT``) and row by row (larger files, or a share of one)."""
    if request.param == "row by row":
        monkeypatch.setattr(streaming, "MAP_LIMIT", 0)
    return request.param


def prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "nnframe-prefetch" and t.is_alive()]


# -- rows of a file --------------------------------------------------------------------


def test_rows_are_read_in_the_order_asked_converted_and_subset(tmp_path):
    x, _ = images(50)
    np.save(tmp_path / "x.npy", x)
    rows = npy_rows(tmp_path / "x.npy")
    assert rows.shape == (50, 6, 5) and len(rows) == 50 and rows.dtype == np.uint8
    index = np.array([7, 3, 3, 49, 0, 8, 9, 10])  # unsorted, repeated, runs
    got = rows.read(index)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, x[index].astype(np.float32))
    part = rows[10:40:3][np.array([4, 0, 2])]
    np.testing.assert_array_equal(part.read(np.arange(3), np.float64),
                                  x[10:40:3][[4, 0, 2]].astype(np.float64))
    flat = rows.reshape(len(rows), -1)
    assert flat.shape == (50, 30)
    np.testing.assert_array_equal(flat.read([1]), x[1:2].reshape(1, 30))
    np.testing.assert_array_equal(np.asarray(rows[:5]), x[:5])


def test_an_epoch_maps_a_small_file_and_reads_a_large_one_or_a_share_row_by_row(
        tmp_path, monkeypatch):
    x, _ = images(64)
    np.save(tmp_path / "x.npy", x)
    rows = npy_rows(tmp_path / "x.npy")[4:]  # a training split: 60 of the file's rows
    epoch = [np.arange(0, 30), np.arange(30, 60)]
    mapped = rows.batch_reader(epoch)
    assert isinstance(mapped, MappedRows)
    index = np.array([59, 0, 0, 31, 7])
    for dtype in (np.float32, np.float64, np.uint8):
        got = mapped.read(index, dtype)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, rows.read(index, dtype))
        np.testing.assert_array_equal(got, x[4:][index].astype(dtype))
    np.testing.assert_array_equal(rows.reshape(60, -1).batch_reader(epoch).read([2]),
                                  x[6:7].reshape(1, 30))
    assert rows.batch_reader([epoch[0]]) is rows  # half the rows: one process's share
    monkeypatch.setattr(streaming, "MAP_LIMIT", rows.file_bytes - 1)
    assert rows.batch_reader(epoch) is rows


def test_a_mapped_file_truncated_while_training_is_an_error_not_a_crash(tmp_path):
    x, _ = images(64)
    np.save(tmp_path / "x.npy", x)
    rows = npy_rows(tmp_path / "x.npy")
    mapped = rows.batch_reader([np.arange(64)])
    assert mapped.read([63]).shape == (1, 6, 5)
    os.truncate(tmp_path / "x.npy", os.path.getsize(tmp_path / "x.npy") - 30)  # row 63
    for reader in (mapped, rows):  # touching the lost page of the mapping is a SIGBUS
        with pytest.raises(DataError, match=r"x.npy: row 63: the file ends there"):
            reader.read([0, 63])
    with pytest.raises(DataError, match=r"x.npy: row 63: the file ends there"):
        rows.batch_reader([np.arange(64)])


def test_an_uncompressed_npz_member_is_read_in_place(tmp_path):
    x, y = images(40)
    x = x.astype(np.float64)
    np.savez(tmp_path / "d.npz", labels=y, inputs=x)
    rows = npz_rows(tmp_path / "d.npz", "inputs")
    np.testing.assert_array_equal(rows.read([39, 0, 5], np.float64), x[[39, 0, 5]])
    np.savez_compressed(tmp_path / "c.npz", inputs=x)
    with pytest.raises(DataError, match=r"c.npz\['inputs'\]: is compressed.*numpy.savez"):
        npz_rows(tmp_path / "c.npz", "inputs")
    with pytest.raises(DataError, match="has no array 'x'; it holds labels, inputs"):
        npz_rows(tmp_path / "d.npz", "x")


def test_files_that_cannot_stream_are_clear_errors(tmp_path):
    x, _ = images(20)
    np.save(tmp_path / "f.npy", np.asfortranarray(x.astype(np.float32)))
    with pytest.raises(DataError, match=r"Fortran order.*ascontiguousarray"):
        npy_rows(tmp_path / "f.npy")
    np.save(tmp_path / "x.npy", x)
    data = (tmp_path / "x.npy").read_bytes()
    (tmp_path / "short.npy").write_bytes(data[:-45])
    with pytest.raises(DataError, match=r"short.npy: holds .* bytes but .* truncated"):
        npy_rows(tmp_path / "short.npy")
    rows = npy_rows(tmp_path / "x.npy")
    (tmp_path / "x.npy").write_bytes(data[:-45])  # truncated after it was opened
    with pytest.raises(DataError, match=r"x.npy: row 18: the file ends there"):
        rows.read([0, 19, 18])


def test_the_automatic_rule_streams_what_would_not_fit(tmp_path, monkeypatch):
    x, _ = images(40)
    np.save(tmp_path / "x.npy", x)
    rows = npy_rows(tmp_path / "x.npy")
    assert streams(True, rows) and not streams(False, rows)
    assert not streams(None, rows)
    monkeypatch.setattr("nnframe.datasets.streaming.physical_memory", lambda: 4 * 40 * 30)
    assert streams(None, rows)  # 4800 bytes as float32: more than a quarter of "memory"


def test_readers_stream_by_themselves_when_the_inputs_would_not_fit(tmp_path, monkeypatch):
    x, y = images(40)
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    np.savez_compressed(tmp_path / "c.npz", x=x, y=y)
    npy = nnframe.dataset("npy", x=tmp_path / "x.npy")
    npz = nnframe.dataset("npz", path=tmp_path / "d.npz")
    compressed = nnframe.dataset("npz", path=tmp_path / "c.npz")
    assert not any(isinstance(d.read().inputs, FileRows) for d in (npy, npz, compressed))
    monkeypatch.setattr("nnframe.datasets.streaming.physical_memory", lambda: 1000)
    assert isinstance(npy.read().inputs, FileRows)
    assert isinstance(npz.read().inputs, FileRows)
    np.testing.assert_array_equal(npz.read().targets, y)
    raw = compressed.read()  # compressed: read into memory, as before
    assert isinstance(raw.inputs, np.ndarray)
    np.testing.assert_array_equal(raw.inputs, x)
    with pytest.raises(DataError, match="is compressed"):
        nnframe.dataset("npz", path=tmp_path / "c.npz", stream=True).read()
    assert not isinstance(nnframe.dataset("npy", x=tmp_path / "x.npy", stream=False)
                          .read().inputs, FileRows)


# -- training ---------------------------------------------------------------------------


@pytest.mark.parametrize("shuffle", [True, False])
def test_streamed_rows_train_the_in_memory_model_bit_for_bit(tmp_path, read_way, shuffle):
    x, y = images(203)
    np.save(tmp_path / "x.npy", x)
    fit = {"epochs": 3, "batch_size": 16, "seed": 5, "verbose": 0, "shuffle": shuffle,
           "validation_split": 0.2}
    memory = network(dropout=True)
    expected = memory.fit(x, y, **fit)
    streamed = network(dropout=True)
    history = streamed.fit(npy_rows(tmp_path / "x.npy"), y, **fit)
    assert_same_weights(memory, streamed)
    assert history.history == expected.history  # validation rows read into memory
    assert not prefetch_threads()


@pytest.mark.parametrize("reader", ["npy", "npz"])
def test_a_streamed_data_set_trains_the_in_memory_model_bit_for_bit(tmp_path, reader):
    x, y = images(150)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    arguments = ({"x": tmp_path / "x.npy", "y": tmp_path / "y.npy"} if reader == "npy"
                 else {"path": tmp_path / "d.npz"})
    fit = {"epochs": 2, "batch_size": 32, "seed": 1, "verbose": 0, "validation_split": 0.25}
    memory, streamed = network(), network()
    h1 = memory.fit(nnframe.dataset(reader, **arguments, stream=False), **fit)
    data = nnframe.dataset(reader, **arguments, stream=True)
    assert isinstance(data.read().inputs, FileRows)
    h2 = streamed.fit(data, **fit)
    assert_same_weights(memory, streamed)
    assert h1.history == h2.history
    assert memory.schema == streamed.schema


def test_a_streamed_image_folder_trains_the_in_memory_model_bit_for_bit(tmp_path):
    image = pytest.importorskip("PIL.Image")
    x, y = images(90)
    for row, (pixels, label) in enumerate(zip(x, y % 3, strict=True)):
        folder = tmp_path / "shapes" / f"class{label}"
        folder.mkdir(parents=True, exist_ok=True)
        image.fromarray(pixels).save(folder / f"{row:03d}.png")
    fit = {"epochs": 2, "batch_size": 16, "seed": 2, "verbose": 0, "validation_split": 0.2}
    nets = []
    for stream in (False, True):
        data = nnframe.dataset("image_folder", path=tmp_path / "shapes", color="grayscale",
                               stream=stream)
        assert is_streamed(data.read().inputs) is stream
        net = nnframe.Network([nnframe.layer("flatten"), nnframe.layer("dense",
                                                                       output_size=3)])
        net.use("cross_entropy", "adam").fit(data, **fit)
        nets.append(net)
    assert_same_weights(*nets)
    rows = nnframe.dataset("image_folder", path=tmp_path / "shapes", color="grayscale",
                           stream=True).read().inputs
    np.testing.assert_array_equal(rows.read([5, 1]), np.asarray(rows)[[5, 1]])
    assert rows.shape == (90, 6, 5, 1)


def test_stopping_inside_an_epoch_then_resuming_a_stream_is_the_uninterrupted_run(
        tmp_path, read_way):
    x, y = images(120)
    np.save(tmp_path / "x.npy", x)
    fit = {"batch_size": 16, "verbose": 0, "epochs": 3}
    whole = network(dropout=True)
    whole.fit(x, y, seed=3, **fit)

    class StopAt(nnframe.Callback):
        def __init__(self):
            self.epoch = None

        def on_epoch_begin(self, epoch, logs):
            self.epoch = epoch

        def on_batch_end(self, batch, logs):
            if (self.epoch, batch) == (1, 2):
                self.network.stop_training = True

    stopped = network(dropout=True)
    stopped.fit(npy_rows(tmp_path / "x.npy"), y, seed=3, callbacks=[StopAt()], **fit)
    assert stopped.epoch == 1 and stopped.resume_point["batch"] == 3
    assert not prefetch_threads()  # the reading thread stopped with training
    resumed = nnframe.load(stopped.save(tmp_path / "stopped.npz"))
    resumed.fit(npy_rows(tmp_path / "x.npy"), y, initial_epoch=resumed.epoch, **fit)
    assert_same_weights(whole, resumed)


def test_a_bad_row_stops_training_naming_the_file_and_row(tmp_path, read_way):
    x = images(100)[0].astype(np.float32)
    y = images(100)[1]
    x[61, 2, 3] = np.nan
    np.save(tmp_path / "x.npy", x)
    net = network()
    with pytest.raises(DataError, match=r"x.npy: row 61: holds NaN"):
        net.fit(npy_rows(tmp_path / "x.npy"), y, epochs=1, batch_size=8, seed=0, verbose=0)
    assert not prefetch_threads()


def test_an_error_in_a_callback_stops_the_reading_thread(tmp_path, read_way):
    x, y = images(200)
    np.save(tmp_path / "x.npy", x)

    class Fail(nnframe.Callback):
        def on_batch_end(self, batch, logs):
            if batch == 1:
                raise KeyboardInterrupt  # as Ctrl-C does

    with pytest.raises(KeyboardInterrupt):
        network().fit(npy_rows(tmp_path / "x.npy"), y, epochs=2, batch_size=4, seed=0,
                      verbose=0, callbacks=[Fail()])
    assert not prefetch_threads()


def test_a_layer_that_adapts_on_all_samples_is_refused_when_streaming(tmp_path):
    x, y = images(30)
    np.save(tmp_path / "x.npy", x)
    net = nnframe.Network([nnframe.layer("flatten"), nnframe.layer("standardize"),
                           nnframe.layer("dense", output_size=4)]).use("cross_entropy", "sgd")
    with pytest.raises(ConfigError, match=r"layer 1.*adapts on all.*x.npy.*stream"):
        net.fit(npy_rows(tmp_path / "x.npy"), y, epochs=1, verbose=0)


def test_readers_that_cannot_stream_refuse_stream_true(tmp_path):
    assert nnframe.dataset("image_folder", path=tmp_path, stream=True).stream is True
    with pytest.raises(ConfigError, match="implemented for npy, npz, parquet and image_folder"):
        nnframe.dataset("csv", path=tmp_path / "x.csv", target="t", stream=True)
    with pytest.raises(ConfigError, match="stream must be true, false or unset"):
        nnframe.dataset("npy", x=tmp_path / "x.npy", stream="yes")


# -- prefetch ---------------------------------------------------------------------------


def test_prefetch_gives_every_item_in_order_and_raises_errors_in_the_caller():
    with Prefetch(lambda k: k * k, range(10), depth=2) as feed:
        assert [feed.get(k) for k in range(10)] == [k * k for k in range(10)]

    def make(k):
        if k == 3:
            raise DataError("data.npy: row 3: broken")
        return k

    feed = Prefetch(make, range(10))
    assert [feed.get(k) for k in range(3)] == [0, 1, 2]
    with pytest.raises(DataError, match="row 3: broken"):
        feed.get(3)
    feed.close()


def test_prefetch_reads_at_most_depth_ahead_and_closing_stops_it():
    made = []
    gate = threading.Event()

    def make(k):
        made.append(k)
        return k

    feed = Prefetch(make, range(1000), depth=2)
    gate.wait(0.3)
    assert len(made) <= 3  # two queued and one waiting to be queued
    assert feed.get(0) == 0
    feed.close()
    assert not prefetch_threads()
    assert len(made) <= 5


# -- several processes ------------------------------------------------------------------


@needs_mpi
def test_each_process_reads_only_its_share_and_trains_the_one_process_model(tmp_path):
    from nnframe.datasets import mnist_sample

    rows, epochs = 1000, 2
    np.save(tmp_path / "x.npy", mnist_sample("train")[0][:rows])
    options = ("--rows", rows, "--epochs", epochs, "--optimizer", "adam")
    succeeded(alone(*program(*options, "--strategy", "none", "--out", tmp_path / "memory")))
    succeeded(alone(*program(*options, "--strategy", "none", "--out", tmp_path / "one",
                             "--stream-from", tmp_path / "x.npy")))
    succeeded(mpiexec(*program(*options, "--out", tmp_path / "two",
                               "--stream-from", tmp_path / "x.npy")))
    one = np.load(tmp_path / "one.0.npy")
    np.testing.assert_array_equal(one, np.load(tmp_path / "memory.0.npy"))
    rank0, rank1 = np.load(tmp_path / "two.0.npy"), np.load(tmp_path / "two.1.npy")
    np.testing.assert_array_equal(rank0, rank1)
    assert float(np.abs(one - rank0).max()) < 1e-5
    checked = len(range(0, rows, rows // 64))  # rows that check the processes' data agree
    alone_read = json.loads((tmp_path / "one.read.0.json").read_text())
    # one process reads every row, so it maps the small file; each of two reads its half
    # of every batch (of 32) row by row, which keeps the other half out of its memory
    assert alone_read == {"rows": checked, "mapped": epochs * rows}
    for rank in (0, 1):
        read = json.loads((tmp_path / f"two.read.{rank}.json").read_text())
        assert read == {"rows": epochs * rows // 2 + checked, "mapped": 0}


# -- configs ------------------------------------------------------------------------------


def test_a_config_with_stream_true_trains_the_model_of_stream_false(tmp_path):
    from typer.testing import CliRunner

    from nnframe.cli import app

    x, y = images(300)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    outputs = {}
    for stream in ("true", "false"):
        config = tmp_path / f"{stream}.toml"
        config.write_text(f"""
[model]
layers = [{{ type = "dense", output_size = 8 }}, {{ type = "relu" }},
          {{ type = "dense", output_size = 4 }}]
[loss]
type = "cross_entropy"
[optimizer]
type = "adam"
[data]
dataset = {{ type = "npy", x = "x.npy", y = "y.npy", stream = {stream} }}
flatten = true
test_split = 0.2
validation_split = 0.1
[train]
epochs = 2
batch_size = 16
seed = 0
""")
        result = CliRunner().invoke(app, ["train", str(config), "-o",
                                          str(tmp_path / f"{stream}.npz")])
        assert result.exit_code == 0, result.output
        outputs[stream] = result.output
    assert "read from disk batch by batch (stream)" in outputs["true"]
    assert "(stream)" not in outputs["false"]
    assert_same_weights(nnframe.load(tmp_path / "true.npz"),
                        nnframe.load(tmp_path / "false.npz"))


# -- memory -------------------------------------------------------------------------------

CHILD = """
import sys, numpy as np, nnframe
from nnframe.datasets.streaming import npy_rows
rows = npy_rows(sys.argv[1])
y = np.resize(np.arange(10), len(rows))
net = nnframe.Network([nnframe.layer("flatten"), nnframe.layer("dense", output_size=10)])
net.use("cross_entropy", "sgd").fit(rows, y, epochs=1, batch_size=256, seed=0, verbose=0)
status = open("/proc/self/status").read()
print(int(status.split("VmHWM:")[1].split()[0]) // 1024)
"""


@pytest.mark.slow
@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/status"),
                    reason="reads the peak memory from /proc/self/status (Linux)")
def test_a_streamed_epoch_holds_a_few_batches_not_the_file(tmp_path):
    import subprocess
    import sys

    from numpy.lib import format as npy_format

    path = tmp_path / "big.npy"
    rows, chunk = 100_000, np.random.default_rng(0).random((10_000, 784), np.float32)
    with open(path, "wb") as file:  # 314 MB, written without holding it in memory
        npy_format.write_array_header_2_0(file, {"descr": "<f4", "fortran_order": False,
                                                 "shape": (rows, 784)})
        for _ in range(rows // len(chunk)):
            file.write(chunk.tobytes())
    # NumPy's own optimizer kernels: a compiled-kernel plugin (numba: ~130 MB once
    # imported) would measure itself, not the data path
    env = {**os.environ, "NNFRAME_KERNELS": "reference"}
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True,
                          text=True, timeout=300, check=False, env=env)
    path.unlink()
    assert done.returncode == 0, done.stderr
    peak_mb = int(done.stdout.split()[-1])
    print(f"\npeak resident memory of a streamed epoch on a 314 MB file: {peak_mb} MB")
    assert peak_mb < 150  # the interpreter, NumPy, nnframe and a few batches of 800 kB


def test_the_streaming_benchmark_repeats_the_images_and_trains_alike_both_ways(
        tmp_path, monkeypatch):
    from benchmarks import streaming as benchmark

    x = np.random.default_rng(0).integers(0, 256, (10, 28, 28), dtype=np.uint8)
    y = np.arange(10)
    monkeypatch.setattr("nnframe.datasets.mnist", lambda split: (x / 255.0, y))
    path, labels = benchmark.write_images(tmp_path, repeat_to_bytes=25 * 28 * 28 * 4)
    written = np.load(path)
    assert written.shape == (25, 28, 28, 1) and written.dtype == np.float32
    np.testing.assert_array_equal(written[20:], written[:5])
    np.testing.assert_array_equal(np.load(labels), np.resize(y, 25))
    memory = benchmark.child("memory", path, labels, None)
    stream = benchmark.child("stream", path, labels, None)
    assert memory["rows"] == stream["rows"] == 25
    assert memory["weights_sum"] == stream["weights_sum"]  # the same model
    assert stream["peak_rss_mb"] > 0
