"""``python -m benchmarks.layer_kernels``: the layers' named kernels with and without
nnframe-numba, what a fresh process pays for them, and the epochs they run in.

Kernels: every round times one call of each layer kernel's NumPy reference and of
nnframe-numba's version, one after the other, on the shapes of the workloads (the cnn's
two max-pools and its second conv's col2im at batch 64; one step of the seq-mnist LSTM,
128 units at batch 128), float32, on 1 thread (BLAS limited with threadpoolctl,
``NNFRAME_NUM_THREADS=1``); the median CPU time per call over the rounds, with the spread.
im2col with more than one channel is timed against the compiled candidate that
nnframe-numba leaves out (`im2col_candidate`), so that the figure behind that choice stays
measurable. The im2col rows are the cnn's two convs at batch 64 (one channel: the
window matrix's other layout); the GRU rows one step of a GRU of 128 units at batch 128.

GRU layer: one training forward and backward of a GRU of 128 units on 128 sequences of
28 steps, with NumPy's kernels and with nnframe-numba's in turn, CPU ms over the rounds.

Batches: the CPU time of a training batch once the kernels are chosen, each workload
trained with NumPy's kernels and with nnframe-numba's in turn, in one process, on 1 thread.

Start-up: a fresh ``python -c`` that builds a workload and trains one batch, with
``NNFRAME_KERNELS=reference`` and with nnframe-numba (its cache warm): the CPU seconds of
that process. The break-even number of batches is the extra start-up CPU over the CPU a
batch saves (from the batch rows).

Epochs: one epoch of each workload in a fresh process (`benchmarks.measure`), with
NumPy's kernels, with nnframe-numba's (optimizer and layer kernels: the plugin as
installed) and in PyTorch (fused Adam), the three interleaved in each round, at each
thread count; CPU time at 1 thread and wall time at 2, medians and spreads, with the
machine's load.

Results go to stdout and to benchmarks/results/layer_kernels.json (not committed).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import machine
from benchmarks.__main__ import measuring_env, run_measure

RESULTS = Path(__file__).resolve().parent / "results"
#: label -> (kernel, the reference's module, function making its arguments)
KERNEL_ROWS = ("cnn maxpool2d_backward 26x26x8", "cnn maxpool2d_backward 11x11x16",
               "cnn col2im 13x13x8", "cnn im2col 28x28x1", "cnn im2col 13x13x8",
               "seq-mnist lstm_forward_gates", "seq-mnist lstm_backward_gates",
               "gru gru_forward_gates", "gru gru_backward_gates")
#: row -> the compiled candidate nnframe-numba leaves out, timed in its place
CANDIDATES = {"cnn im2col 13x13x8": "im2col_candidate"}
#: workload -> the distribution whose layers it needs
WORKLOADS = {"cnn": "nnframe-conv", "seq-mnist": "nnframe-recurrent"}


def kernel_arguments(label: str) -> tuple[str, str, list[Any], dict[str, Any]]:
    """(kernel name, reference module, positional arrays, keywords) of a `KERNEL_ROWS` row."""
    import numpy as np

    rng = np.random.default_rng(0)

    def draw(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32)

    if "maxpool2d_backward" in label:
        side, channels = (26, 8) if "26x26" in label else (11, 16)
        out = side // 2
        x = draw(64, side, side, channels)
        y = np.ascontiguousarray(x[:, :2 * out, :2 * out].reshape(
            64, out, 2, out, 2, channels).max(axis=(2, 4)))
        return ("maxpool2d_backward", "nnframe_conv.kernels",
                [x, y, draw(*y.shape), np.empty_like(x)],
                {"pool": (2, 2), "stride": (2, 2), "dilation": (1, 1)})
    if "im2col" in label:
        side, channels = (28, 1) if "28x28" in label else (13, 8)
        out = side - 2
        shape = ((3, 3, 64, out, out) if channels == 1
                 else (64, out, out, 3, 3, channels))
        return ("im2col", "nnframe_conv.kernels",
                [draw(64, side, side, channels), np.empty(shape, np.float32)],
                {"stride": (1, 1), "dilation": (1, 1)})
    if "col2im" in label:
        return ("col2im", "nnframe_conv.kernels",
                [draw(3, 3, 64, 11, 11, 8), np.empty((64, 13, 13, 8), np.float32)],
                {"stride": (1, 1), "dilation": (1, 1)})
    n, units = 128, 128
    if label.startswith("gru"):
        return gru_arguments("forward" in label, n, units, draw)
    if "forward" in label:
        return ("lstm_forward_gates", "nnframe_recurrent.kernels",
                [draw(n, 4 * units), draw(n, units), *(np.empty((n, units), np.float32)
                                                      for _ in range(3))],
                {"scratch": np.empty(n * units, np.float32)})
    gate = rng.uniform(0, 1, (n, 4 * units)).astype(np.float32)
    return ("lstm_backward_gates", "nnframe_recurrent.kernels",
            [gate, draw(n, units), np.tanh(draw(n, units)), draw(n, units), draw(n, units),
             np.empty((n, 4 * units), np.float32)],
            {"scratch": np.empty(9 * n * units, np.float32)})


def gru_arguments(forward: bool, n: int, units: int, draw: Any
                  ) -> tuple[str, str, list[Any], dict[str, Any]]:
    """A GRU step's arrays (`kernel_arguments`), the activated gates in their ranges."""
    import numpy as np

    scratch = {"scratch": np.empty(n * units, np.float32)}
    if forward:
        return ("gru_forward_gates", "nnframe_recurrent.kernels",
                [draw(n, 3 * units), draw(n, 3 * units), draw(n, units),
                 np.empty((n, units), np.float32)], scratch)
    gate = np.random.default_rng(1).uniform(0, 1, (n, 3 * units)).astype(np.float32)
    gate[:, 2 * units:] = 2 * gate[:, 2 * units:] - 1
    return ("gru_backward_gates", "nnframe_recurrent.kernels",
            [gate, draw(n, 3 * units), draw(n, units), draw(n, units),
             np.empty((n, 3 * units), np.float32), np.empty((n, 3 * units), np.float32)],
            scratch)


def im2col_candidate() -> Any:
    """The compiled im2col for more than one channel that nnframe-numba leaves out (every
    cell in turn: NumPy's one strided copy beats it), kept so that its row can be
    measured; nnframe-numba's own `im2col` runs NumPy's there."""
    from numba import njit

    @njit(fastmath=True, error_model="numpy", nogil=True)
    def cells(padded, patches, sh, sw, dh, dw):
        n, out_h, out_w, kh, kw, channels = patches.shape
        for b in range(n):
            for y in range(out_h):
                for x in range(out_w):
                    for i in range(kh):
                        for j in range(kw):
                            r, s = y * sh + i * dh, x * sw + j * dw
                            for c in range(channels):
                                patches[b, y, x, i, j, c] = padded[b, r, s, c]

    def im2col(padded, patches, *, stride, dilation):
        cells(padded, patches, stride[0], stride[1], dilation[0], dilation[1])

    return im2col


def time_kernels(rounds: int) -> dict[str, Any]:
    """Each row's reference and numba kernel, interleaved over ``rounds``, 1 thread."""
    import importlib

    from nnframe_numba.plugin import LAYER_KERNELS
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    calls: dict[str, Any] = {}
    for label in KERNEL_ROWS:
        name, module, args, kwargs = kernel_arguments(label)
        compiled = f"nnframe_numba.{LAYER_KERNELS[name][1]}"
        for provider, source in (("reference", module), ("numba", compiled)):
            function = (globals()[CANDIDATES[label]]() if label in CANDIDATES
                        and provider == "numba" else
                        getattr(importlib.import_module(source), name))
            function(*args, **kwargs)  # compile or load, and warm the caches
            calls[f"{label} {provider}"] = (function, args, kwargs)
    timings: dict[str, list[float]] = {key: [] for key in calls}
    for _ in range(rounds):
        for key, (function, args, kwargs) in calls.items():
            repeats, start = 0, time.process_time()
            while time.process_time() - start < 0.05 or repeats < 3:
                function(*args, **kwargs)
                repeats += 1
            timings[key].append((time.process_time() - start) / repeats)
    rows = {}
    for label in KERNEL_ROWS:
        reference, numba = timings[f"{label} reference"], timings[f"{label} numba"]
        ratios = [n / r for n, r in zip(numba, reference, strict=True)]
        rows[label] = {"reference_ms": _summary(reference, 1e3),
                       "numba_ms": _summary(numba, 1e3),
                       "ratio": _summary(ratios, 1.0)}
    return rows


#: (batch, steps, features, units) of the GRU layer row: seq-mnist's shapes, a GRU of 128
GRU_LAYER = (128, 28, 28, 128)


def time_gru_layer(rounds: int) -> dict[str, Any]:
    """CPU ms of one training forward and backward of a GRU of 128 units on 128 sequences
    of 28 steps (float32, 1 thread), with NumPy's kernels and with nnframe-numba's in turn
    each round (`nnframe.speed.kernels.preference`); the layer's matrix products count."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    import nnframe
    from nnframe.speed import kernels

    threadpool_limits(limits=1)
    n, steps, features, units = GRU_LAYER
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, steps, features)).astype(np.float32)
    grad = rng.standard_normal((n, units)).astype(np.float32)
    layers = {}
    for mode in ("reference", "auto"):
        layers[mode] = nnframe.layer("gru", units=units)
        layers[mode].build((steps, features), np.random.default_rng(1), np.dtype(np.float32))

    def one_pass(mode: str) -> None:
        with kernels.preference(mode):
            layers[mode].forward(x, training=True)
            layers[mode].backward(grad)

    for mode in layers:  # the kernels' choice, numba's start-up, caches warm
        one_pass(mode)
    times: dict[str, list[float]] = {mode: [] for mode in layers}
    for _ in range(rounds):
        for mode in layers:
            repeats, start = 0, time.process_time()
            while time.process_time() - start < 0.2 or repeats < 3:
                one_pass(mode)
                repeats += 1
            times[mode].append((time.process_time() - start) / repeats)
    ratios = [a / r for a, r in zip(times["auto"], times["reference"], strict=True)]
    return {"reference_ms": _summary(times["reference"], 1e3),
            "numba_ms": _summary(times["auto"], 1e3), "ratio": _summary(ratios, 1.0)}


def _summary(values: list[float], scale: float) -> dict[str, float]:
    scaled = [v * scale for v in values]
    return {"median": statistics.median(scaled), "min": min(scaled), "max": max(scaled)}


#: workload -> training batches timed per round in `time_batches`
BATCHES = {"cnn": 100, "seq-mnist": 30}


def time_batches(workload: str, rounds: int) -> dict[str, Any]:
    """CPU ms per training batch once the kernels are chosen (and compiled or loaded), on
    the first MNIST images, 1 thread: the network trained with NumPy's kernels and a copy
    with nnframe-numba's, in turn, each round (`fit(..., kernels=...)`)."""
    from threadpoolctl import threadpool_limits

    from benchmarks.workloads import WORKLOADS as ALL
    from benchmarks.workloads import build_nnframe
    from nnframe.datasets import mnist

    threadpool_limits(limits=1)
    spec = ALL[workload]
    count = BATCHES[workload] * spec.batch_size
    x, y = mnist("train")
    x, y = x[:count].reshape(count, *spec.input_shape), y[:count]
    nets = {mode: build_nnframe(spec, 0) for mode in ("reference", "auto")}
    for mode, net in nets.items():  # the kernels' choice, numba's start-up, caches warm
        net.fit(x[:2 * spec.batch_size], y[:2 * spec.batch_size], batch_size=spec.batch_size,
                verbose=0, kernels=mode)
    per_batch: dict[str, list[float]] = {mode: [] for mode in nets}
    for _ in range(rounds):
        for mode, net in nets.items():
            start = time.process_time()
            net.fit(x, y, batch_size=spec.batch_size, verbose=0, kernels=mode)
            per_batch[mode].append((time.process_time() - start) / BATCHES[workload])
    ratios = [n / r for n, r in zip(per_batch["auto"], per_batch["reference"], strict=True)]
    return {"reference_ms": _summary(per_batch["reference"], 1e3),
            "numba_ms": _summary(per_batch["auto"], 1e3), "ratio": _summary(ratios, 1.0)}


STARTUP_CODE = """
import time, numpy as np
from benchmarks.workloads import WORKLOADS, build_nnframe
w = WORKLOADS[{workload!r}]
net = build_nnframe(w, 0)
x = np.random.default_rng(0).random((w.batch_size, *w.input_shape), dtype=np.float32)
net.fit(x, np.arange(w.batch_size) % 10, epochs=1, batch_size=w.batch_size, verbose=0)
print(time.process_time())
"""


def time_startup(workload: str, rounds: int) -> dict[str, Any]:
    """CPU seconds of a fresh process that builds ``workload`` and trains one batch, with
    NumPy's kernels and with nnframe-numba's (its cache warmed by a first run)."""
    env, _ = measuring_env()
    env["NNFRAME_NUM_THREADS"] = "1"
    env["OPENBLAS_NUM_THREADS"] = "1"
    code = STARTUP_CODE.format(workload=workload)
    modes = {"reference": {**env, "NNFRAME_KERNELS": "reference"},
             "numba": {**env, "NNFRAME_KERNELS": "auto"}}
    subprocess.run([sys.executable, "-c", code], env=modes["numba"], check=True,
                   capture_output=True)  # compiles into the cache where it is cold
    seconds: dict[str, list[float]] = {mode: [] for mode in modes}
    for _ in range(rounds):
        for mode, mode_env in modes.items():
            done = subprocess.run([sys.executable, "-c", code], env=mode_env, check=True,
                                  capture_output=True, text=True)
            seconds[mode].append(float(done.stdout.strip().splitlines()[-1]))
    return {mode: _summary(values, 1.0) for mode, values in seconds.items()}


def time_epochs(workloads: list[str], threads: list[int], rounds: int,
                train_samples: int | None, timeout: float) -> list[dict[str, Any]]:
    """One epoch per workload, thread count and setting each round, interleaved."""
    env, _ = measuring_env()
    settings = {"nnframe": {**env, "NNFRAME_KERNELS": "reference"},
                "nnframe-numba": {**env, "NNFRAME_KERNELS": "auto"},
                "torch": env}
    results = []
    for round_index in range(rounds):
        for count in threads:
            for workload in workloads:
                order = list(settings)
                order = order[round_index % 3:] + order[:round_index % 3]
                for setting in order:
                    framework = "torch" if setting == "torch" else "nnframe"
                    request = {"kind": "epoch", "framework": framework, "workload": workload,
                               "seed": round_index, "threads": count,
                               "train_samples": train_samples, "inference_repeats": 1,
                               "latency_repeats": 1}
                    result = run_measure(request, settings[setting], timeout)
                    result.update(setting=setting, load=machine.load_average())
                    print(f"  {count}t {workload:>9} {setting:>13}: "
                          + (result.get("error") or f"{result['epoch_s']:.2f} s wall, "
                             f"{result['epoch_cpu_s']:.2f} s CPU"), flush=True)
                    results.append(result)
    return results


def epoch_table(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Medians and spreads per workload, thread count and setting; the ratios to
    nnframe's NumPy kernels and to PyTorch (CPU at 1 thread, wall at 2 and more)."""
    rows = []
    groups: dict[tuple[str, int, str], list[float]] = {}
    for result in results:
        if "error" in result:
            continue
        key = (result["workload"], result["threads"], result["setting"])
        measure = result["epoch_cpu_s"] if result["threads"] == 1 else result["epoch_s"]
        groups.setdefault(key, []).append(measure)
    for (workload, count, setting), values in sorted(groups.items()):
        row = {"workload": workload, "threads": count, "setting": setting,
               "measure": "CPU s" if count == 1 else "wall s", **_summary(values, 1.0)}
        for other in ("nnframe", "torch"):
            base = groups.get((workload, count, other))
            if base and other != setting:
                row[f"vs {other}"] = row["median"] / statistics.median(base)
        rows.append(row)
    return rows


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.layer_kernels",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="kernel rounds (default 7)")
    parser.add_argument("--epoch-rounds", type=int, default=3,
                        help="rounds of epochs (default 3; 0: none)")
    parser.add_argument("--batch-rounds", type=int, default=5,
                        help="rounds of training batches in process (default 5; 0: none)")
    parser.add_argument("--startup-rounds", type=int, default=3,
                        help="rounds of fresh processes (default 3; 0: none)")
    parser.add_argument("--workloads", default="cnn",
                        help="start-up of: comma-separated, of " + ", ".join(WORKLOADS)
                             + " (default cnn)")
    parser.add_argument("--epoch-workloads", default=None,
                        help="epochs of: comma-separated (default: as --workloads)")
    parser.add_argument("--threads", default="1,2", help="epoch thread counts (default 1,2)")
    parser.add_argument("--train-samples", type=int, default=None,
                        help="train each epoch on the first N images (default all)")
    parser.add_argument("--timeout", type=float, default=1800.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    workloads = [w for w in args.workloads.split(",") if w]
    threads = [int(t) for t in args.threads.split(",") if t]
    missing = [d for d in ("nnframe-numba", *(WORKLOADS[w] for w in workloads))
               if machine.version(d) is None]
    if missing:
        print(f"install {', '.join(missing)} first (pip install ./plugins/<name>)")
        return 2
    os.environ["NNFRAME_NUM_THREADS"] = "1"
    results: dict[str, Any] = {"load_before": machine.load_average(),
                               "cpu_pressure_before": machine.cpu_pressure()}
    print("kernels, 1 thread, CPU ms per call (median [min-max] of "
          f"{args.rounds} interleaved rounds):")
    results["kernels"] = time_kernels(args.rounds)
    for label, row in results["kernels"].items():
        ref, fused, ratio = row["reference_ms"], row["numba_ms"], row["ratio"]
        print(f"  {label:<34} numpy {ref['median']:7.3f} [{ref['min']:.3f}-{ref['max']:.3f}]"
              f"  numba {fused['median']:7.3f} [{fused['min']:.3f}-{fused['max']:.3f}]"
              f"  ratio {ratio['median']:.2f} [{ratio['min']:.2f}-{ratio['max']:.2f}]")
    results["gru_layer"] = row = time_gru_layer(args.rounds)
    ref, fused, ratio = row["reference_ms"], row["numba_ms"], row["ratio"]
    print("gru layer, 128 units, batch 128, 28 steps, forward and backward, CPU ms: "
          f"numpy {ref['median']:.2f} [{ref['min']:.2f}-{ref['max']:.2f}]  numba "
          f"{fused['median']:.2f} [{fused['min']:.2f}-{fused['max']:.2f}]  ratio "
          f"{ratio['median']:.2f} [{ratio['min']:.2f}-{ratio['max']:.2f}]")
    if args.batch_rounds:
        print("training batches, 1 thread, CPU ms per batch once the kernels are chosen:")
        results["batches"] = {w: time_batches(w, args.batch_rounds) for w in workloads}
        for workload, row in results["batches"].items():
            ref, fused, ratio = row["reference_ms"], row["numba_ms"], row["ratio"]
            print(f"  {workload:<9} numpy {ref['median']:.2f} [{ref['min']:.2f}-"
                  f"{ref['max']:.2f}]  numba {fused['median']:.2f} [{fused['min']:.2f}-"
                  f"{fused['max']:.2f}]  ratio {ratio['median']:.2f} [{ratio['min']:.2f}-"
                  f"{ratio['max']:.2f}]")
    if args.startup_rounds:
        results["startup"] = {w: time_startup(w, args.startup_rounds) for w in workloads}
        for workload, modes in results["startup"].items():
            print(f"start-up, build {workload} and train one batch, CPU s: " + ", ".join(
                f"{mode} {m['median']:.2f} [{m['min']:.2f}-{m['max']:.2f}]"
                for mode, m in modes.items()))
    for workload in workloads if "batches" in results and "startup" in results else ():
        extra = (results["startup"][workload]["numba"]["median"]
                 - results["startup"][workload]["reference"]["median"])
        row = results["batches"][workload]
        saved = (row["reference_ms"]["median"] - row["numba_ms"]["median"]) / 1e3
        even = extra / saved if saved > 0 else float("inf")
        results.setdefault("break_even_batches", {})[workload] = even
        print(f"break-even, {workload}: {extra:.2f} s more at start, {saved * 1e3:.2f} ms "
              f"saved a batch: {even:,.0f} batches")
    if args.epoch_rounds:
        print("epochs:")
        epoch_workloads = [w for w in (args.epoch_workloads or args.workloads).split(",")
                           if w]
        results["epochs"] = time_epochs(epoch_workloads, threads, args.epoch_rounds,
                                        args.train_samples, args.timeout)
        results["epoch_table"] = epoch_table(results["epochs"])
        for row in results["epoch_table"]:
            ratios = ", ".join(f"{k} {v:.2f}" for k, v in row.items() if k.startswith("vs "))
            print(f"  {row['threads']}t {row['workload']:>9} {row['setting']:>13}: "
                  f"{row['measure']} {row['median']:.2f} [{row['min']:.2f}-{row['max']:.2f}]"
                  f"  {ratios}")
    results["load_after"] = machine.load_average()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "layer_kernels.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
