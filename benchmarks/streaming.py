"""Training on data streamed from disk: ``python -m benchmarks.streaming``.

Writes the MNIST training images (float32 in [0, 1], shape (N, 28, 28, 1)) as a ``.npy``
file into a temporary folder (deleted afterwards) and trains the ``mlp`` workload for one
epoch on it, each run in a fresh process, in two ways:

- ``memory``: the file read whole into memory (``numpy.load``), then ``fit(x, y)``;
- ``stream``: ``fit(npy_rows(path), y)``: each batch's rows gathered from the file
  memory-mapped (the MNIST-size file, at most ``MAP_LIMIT``), or read row by row ahead of
  the compute on the prefetch thread (the 2 GB file, and each process's share under MPI);
  the labels are in memory either way.

Parts (all by default):

- ``speed``: MNIST-size data (60,000 images, 188 MB), both ways at 1 and 2 BLAS threads,
  interleaved over ``--rounds`` (the order alternates each round); epoch wall time and
  CPU time (``time.process_time``, all threads), and stream / memory paired by round.
- ``memory``: the images repeated to ``--gigabytes`` (2 by default), one streamed epoch;
  the child's peak resident memory against the file's size: ``VmHWM`` of
  ``/proc/self/status`` (``resource.getrusage``'s ``ru_maxrss`` is reported beside it,
  but on Linux it also holds the peak of the parent process it was forked from).
  ``--in-memory-too`` also runs the in-memory path on it (needs that memory).
- ``mpi``: ``mpiexec -n 2`` streamed epochs on the MNIST-size file: each rank's peak
  resident memory, beside one process's in memory and streamed (needs ``nnframe[mpi]``).

Results go to stdout and ``benchmarks/results/streaming.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent
WORKLOAD = "mlp"


# -- the measured process ------------------------------------------------------------------


def peak_mb() -> float:
    """This process's peak resident memory: ``VmHWM`` where Linux gives it, since
    ``ru_maxrss`` also keeps the peak of the parent that forked it, then the getrusage
    figure."""
    from benchmarks.measure import peak_mb as measured

    return measured()


def child(mode: str, path: Path, labels: Path, strategy: str | None) -> dict[str, Any]:
    """One epoch of the workload on ``path``, read ``mode`` (``memory`` or ``stream``)."""
    from benchmarks.workloads import WORKLOADS, build_nnframe
    from nnframe.datasets.streaming import npy_rows

    workload = WORKLOADS[WORKLOAD]
    y = np.load(labels)
    x = np.load(path) if mode == "memory" else npy_rows(path)
    net = build_nnframe(workload, 0, tuple(x.shape[1:]))
    before = peak_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    net.fit(x, y, epochs=1, batch_size=workload.batch_size, verbose=0, seed=0,
            strategy=strategy)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rank = 0
    if strategy == "mpi":
        from nnframe.distributed import launch

        rank = launch().rank
    return {"mode": mode, "rows": len(x), "epoch_s": wall, "epoch_cpu_s": cpu,
            "peak_rss_mb": peak_mb(), "peak_rss_before_fit_mb": before,
            "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rank": rank,
            "weights_sum": float(np.abs(net.parameters().values).sum())}


def run_child(mode: str, path: Path, labels: Path, threads: int,
              mpi: int = 0) -> list[dict[str, Any]]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads),
           "OPENBLAS_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "PYTHONPATH": str(ROOT),
           # NumPy's optimizer kernels: a compiled-kernel plugin (nnframe-numba: ~115 MB
           # once imported) would add its own memory to every figure
           "NNFRAME_KERNELS": "reference"}
    out = path.parent / "results"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    command = [sys.executable, "-m", "benchmarks.streaming", "--child", mode,
               "--file", str(path), "--labels", str(labels), "--out", str(out)]
    if mpi:
        launcher = Path(sys.executable).parent / "mpiexec"
        command = [str(launcher) if launcher.exists() else "mpiexec", "-n", str(mpi),
                   *command, "--strategy", "mpi"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return [json.loads(result.read_text()) for result in sorted(out.glob("*.json"))]


# -- the data --------------------------------------------------------------------------------


def write_images(folder: Path, repeat_to_bytes: int | None = None) -> tuple[Path, Path]:
    """MNIST's training images as float32 ``.npy`` (repeated up to ``repeat_to_bytes``,
    written in chunks, never whole in memory) and their labels."""
    from numpy.lib import format as npy_format

    from nnframe.datasets import mnist

    x, y = mnist("train")
    x = np.asarray(x, dtype=np.float32).reshape(len(x), 28, 28, 1)
    rows = len(x) if repeat_to_bytes is None else -(-repeat_to_bytes // x[0].nbytes)
    path, labels = folder / "images.npy", folder / "labels.npy"
    with open(path, "wb") as file:
        npy_format.write_array_header_2_0(file, {"descr": npy_format.dtype_to_descr(x.dtype),
                                                 "fortran_order": False,
                                                 "shape": (rows, 28, 28, 1)})
        written = 0
        while written < rows:
            chunk = x[:rows - written]
            file.write(chunk.tobytes())
            written += len(chunk)
    np.save(labels, np.resize(y, rows))
    return path, labels


# -- the parts ---------------------------------------------------------------------------


def speed(folder: Path, rounds: int, threads: list[int]) -> dict[str, Any]:
    path, labels = write_images(folder)
    runs: dict[str, list[dict[str, Any]]] = {}
    for round_index in range(rounds):
        for count in threads:
            modes = ("memory", "stream") if round_index % 2 == 0 else ("stream", "memory")
            for mode in modes:
                result = run_child(mode, path, labels, count)[0]
                runs.setdefault(f"{mode} {count}", []).append(result)
                print(f"round {round_index + 1}, {count} thread(s), {mode}: epoch "
                      f"{result['epoch_s']:.2f} s wall, {result['epoch_cpu_s']:.2f} s CPU, "
                      f"peak RSS {result['peak_rss_mb']:.0f} MB", flush=True)
    summary = {}
    for count in threads:
        memory, stream = runs[f"memory {count}"], runs[f"stream {count}"]
        summary[f"{count} thread(s)"] = {
            "memory_epoch_s": statistics.median(r["epoch_s"] for r in memory),
            "stream_epoch_s": statistics.median(r["epoch_s"] for r in stream),
            "memory_epoch_cpu_s": statistics.median(r["epoch_cpu_s"] for r in memory),
            "stream_epoch_cpu_s": statistics.median(r["epoch_cpu_s"] for r in stream),
            "stream_over_memory_wall": statistics.median(
                s["epoch_s"] / m["epoch_s"] for m, s in zip(memory, stream, strict=True)),
            "stream_over_memory_cpu": statistics.median(
                s["epoch_cpu_s"] / m["epoch_cpu_s"] for m, s in zip(memory, stream,
                                                                    strict=True)),
            "memory_peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in memory),
            "stream_peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in stream),
        }
    (path.unlink(), labels.unlink())
    return {"runs": runs, "summary": summary}


def memory(folder: Path, gigabytes: float, in_memory_too: bool) -> dict[str, Any]:
    path, labels = write_images(folder, int(gigabytes * 1e9))
    size_mb = path.stat().st_size / 2**20
    print(f"{path.stat().st_size / 1e9:.2f} GB file ({size_mb:.0f} MiB): one streamed "
          "epoch...", flush=True)
    result = {"file_mb": size_mb, "stream": run_child("stream", path, labels, 1)[0]}
    print(f"stream: peak RSS {result['stream']['peak_rss_mb']:.0f} MB, epoch "
          f"{result['stream']['epoch_s']:.1f} s", flush=True)
    if in_memory_too:
        result["memory"] = run_child("memory", path, labels, 1)[0]
        print(f"memory: peak RSS {result['memory']['peak_rss_mb']:.0f} MB, epoch "
              f"{result['memory']['epoch_s']:.1f} s", flush=True)
    (path.unlink(), labels.unlink())
    return result


def mpi(folder: Path) -> dict[str, Any]:
    path, labels = write_images(folder)
    result = {"file_mb": path.stat().st_size / 2**20,
              "one_process_memory": run_child("memory", path, labels, 1)[0],
              "one_process_stream": run_child("stream", path, labels, 1)[0],
              "two_processes_stream": run_child("stream", path, labels, 1, mpi=2)}
    for name in ("one_process_memory", "one_process_stream"):
        print(f"{name}: peak RSS {result[name]['peak_rss_mb']:.0f} MB", flush=True)
    for rank in result["two_processes_stream"]:
        print(f"2 processes, rank {rank['rank']}: peak RSS {rank['peak_rss_mb']:.0f} MB",
              flush=True)
    (path.unlink(), labels.unlink())
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.streaming",
                                     description=__doc__)
    parser.add_argument("--parts", default="speed,memory,mpi")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--gigabytes", type=float, default=2.0)
    parser.add_argument("--in-memory-too", action="store_true")
    parser.add_argument("--child", choices=("memory", "stream"), help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--labels", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--strategy", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = child(args.child, args.file, args.labels, args.strategy)
        (args.out / f"rank{result['rank']}.json").write_text(json.dumps(result))
        return 0
    parts = args.parts.split(",")
    results: dict[str, Any] = {"cpus": os.cpu_count(),
                               "load_average": list(os.getloadavg())}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        if shutil.disk_usage(folder).free < 3 * args.gigabytes * 1e9 and "memory" in parts:
            raise SystemExit(f"not enough free disk in {folder} for a {args.gigabytes} GB "
                             "file")
        if "speed" in parts:
            results["speed"] = speed(folder, args.rounds,
                                     [int(t) for t in args.threads.split(",")])
        if "memory" in parts:
            results["memory"] = memory(folder, args.gigabytes, args.in_memory_too)
        if "mpi" in parts:
            results["mpi"] = mpi(folder)
    results["load_average_after"] = list(os.getloadavg())
    if "speed" in results:
        print(json.dumps(results["speed"]["summary"], indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "streaming.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
