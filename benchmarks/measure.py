"""One measurement in a fresh process: ``python -m benchmarks.measure '<json request>'``.

``{"kind": "epoch", ...}`` names a framework, a workload, a seed and a thread count; the
process loads the MNIST training images, builds the network, times one epoch (wall and
process CPU time), reads its peak memory, then loads the test images and times inference
of the 10,000 and the latency of predicting one image at a time. ``{"kind": "floor",
...}`` measures the workload's GEMM floor now, at its real shapes; ``{"kind": "steps",
...}`` times optimizer steps (`benchmarks.steps`). The result is one JSON line on stdout.

Peak memory (Linux): the resident set size's high-water mark (VmHWM), reset just before the
epoch by writing 5 to /proc/self/clear_refs, so loading the data does not count. Reported:
``peak_mb``, the high-water mark during the epoch minus the resident size before the data
were loaded (the training set as the framework holds it, the model, and every buffer of the
epoch), and ``epoch_extra_mb``, the same above the resident size just before the epoch.
Where the mark cannot be reset, ``getrusage``'s ``ru_maxrss`` is used (data loading included).
"""

from __future__ import annotations

import gc
import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_limits: list[Any] = []  # keeps threadpoolctl's limits alive for the process


def _status_mb(field: str) -> float | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def rss_mb() -> float:
    value = _status_mb("VmRSS")
    if value is None:  # no /proc: the best we have is the peak so far
        value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return value


def reset_peak() -> bool:
    """Reset the peak-RSS mark to the current RSS; False where the OS does not allow it."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return _status_mb("VmHWM") is not None


def peak_mb() -> float:
    value = _status_mb("VmHWM")
    if value is None:
        value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return value


def limit_threads(threads: int) -> None:
    """Run numpy's BLAS (and so nnframe and scikit-learn) on ``threads`` threads.

    threadpoolctl changes the libraries loaded so far: numpy is imported first.
    """
    import numpy  # noqa: F401
    from threadpoolctl import threadpool_limits

    _limits.append(threadpool_limits(limits=threads, user_api="blas"))


def blas_info() -> list[dict[str, Any]]:
    from threadpoolctl import threadpool_info

    keys = ("internal_api", "version", "num_threads", "architecture", "threading_layer")
    return [{k: info.get(k) for k in keys} for info in threadpool_info()]


def _timed(function: Any) -> tuple[float, float]:
    """(wall seconds, process CPU seconds: every thread of this process) of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def _best_per_call(function: Any, budget_s: float = 0.02, repeats: int = 5) -> float:
    """The lowest mean wall time of one call, over ``repeats`` timings of enough calls to
    fill ``budget_s`` each: a floor, so the best and not the median."""
    function()  # warm up: threads started, pages touched
    start = time.perf_counter()
    function()
    once = max(time.perf_counter() - start, 1e-7)
    calls = max(1, int(budget_s / once))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def measure_floor(request: dict[str, Any]) -> dict[str, Any]:
    """The GEMM floor of one workload, measured now at its real shapes: NumPy's float32
    matrix products of one epoch (every batch size it has) and of predicting the test set,
    each timed at the best of several runs, times how often the epoch does it."""
    threads = int(request["threads"])
    limit_threads(threads)
    import numpy as np

    from benchmarks.workloads import TEST_SAMPLES, WORKLOADS, batch_gemms, epoch_batches

    workload = WORKLOADS[request["workload"]]
    rng = np.random.default_rng(0)
    cache: dict[tuple, float] = {}

    def product_s(gemm: Any) -> float:
        key = (gemm.m, gemm.k, gemm.n, gemm.role)
        if key not in cache:
            if gemm.role == "weights":  # x^T dY: x is (k, m) transposed, as layers hold it
                a = rng.random((gemm.k, gemm.m), dtype=np.float32).T
                b = rng.random((gemm.k, gemm.n), dtype=np.float32)
            elif gemm.role == "input":  # dY W^T: W is (n, k) transposed
                a = rng.random((gemm.m, gemm.k), dtype=np.float32)
                b = rng.random((gemm.n, gemm.k), dtype=np.float32).T
            else:
                a = rng.random((gemm.m, gemm.k), dtype=np.float32)
                b = rng.random((gemm.k, gemm.n), dtype=np.float32)
            out = np.empty((gemm.m, gemm.n), np.float32)
            cache[key] = _best_per_call(lambda: np.matmul(a, b, out=out))
        return cache[key]

    samples = int(request["train_samples"])
    epoch_s = 0.0
    epoch_flops = 0
    for size, count in epoch_batches(samples, workload.batch_size).items():
        gemms = batch_gemms(workload, size)
        epoch_s += count * sum(product_s(g) for g in gemms)
        epoch_flops += count * sum(g.flops for g in gemms)
    inference = batch_gemms(workload, TEST_SAMPLES, training=False)
    inference_s = sum(product_s(g) for g in inference)
    return {"kind": "floor", "workload": workload.name, "threads": threads,
            "train_samples": samples, "epoch_s": epoch_s, "epoch_flops": epoch_flops,
            "inference_s": inference_s, "inference_flops": sum(g.flops for g in inference),
            "blas": blas_info()}


def measure_epoch(request: dict[str, Any]) -> dict[str, Any]:
    """Train one epoch, time inference and single-sample latency, as `request` says."""
    framework, threads = request["framework"], int(request["threads"])
    if framework.startswith("torch"):
        import torch

        torch.set_num_threads(threads)
    limit_threads(threads)
    import numpy as np

    from benchmarks.frameworks import RUNNERS
    from benchmarks.workloads import WORKLOADS, count_parameters
    from nnframe.datasets import mnist

    workload = WORKLOADS[request["workload"]]
    samples = request.get("train_samples")
    gc.collect()
    before_data = rss_mb()
    x, y = mnist("train", request.get("data_dir"))
    if samples:
        x, y = x[:samples].copy(), y[:samples].copy()
    x = x.reshape(len(x), *workload.input_shape)  # a view: sequences of image rows
    runner = RUNNERS[framework](workload, int(request["seed"]), x, y)
    gc.collect()
    resettable = reset_peak()
    before_epoch = rss_mb()
    epoch_s, epoch_cpu_s = _timed(runner.train_epoch)
    peak = peak_mb()
    if runner.count_parameters() != count_parameters(workload):  # the same network?
        raise RuntimeError(f"{framework} trained {runner.count_parameters()} parameters for "
                           f"{workload.name}, the workload has {count_parameters(workload)}")

    x_test, y_test = mnist("test", request.get("data_dir"))
    x_test = x_test.reshape(len(x_test), *workload.input_shape)
    output = runner.predict(x_test)  # warm-up, and the accuracy
    accuracy = float(np.mean(np.argmax(output, axis=1) == y_test))
    runs = [_timed(lambda: runner.predict(x_test))
            for _ in range(int(request.get("inference_repeats", 5)))]
    latency = _latency(runner, x_test, int(request.get("latency_repeats", 300)))
    return {
        "kind": "epoch", "framework": framework, "workload": workload.name,
        "seed": request["seed"], "threads": threads, "train_samples": len(x),
        "test_samples": len(x_test), "epoch_s": epoch_s, "epoch_cpu_s": epoch_cpu_s,
        "accuracy": accuracy,
        "inference_s": statistics.median(r[0] for r in runs),
        "inference_cpu_s": statistics.median(r[1] for r in runs),
        "inference_runs": [r[0] for r in runs],
        "latency_s": latency,
        "memory": {
            "method": "VmHWM reset before the epoch" if resettable else "ru_maxrss",
            "before_data_mb": before_data, "before_epoch_mb": before_epoch,
            "high_water_mb": peak,
            "peak_mb": peak - before_data, "epoch_extra_mb": peak - before_epoch,
        },
    }


def _latency(runner: Any, x_test: Any, repeats: int) -> float:
    """Median wall time of predicting one test image at a time, after a warm-up."""
    for i in range(20):
        runner.predict_one(x_test[i:i + 1])
    times = []
    for i in range(repeats):
        sample = x_test[i % len(x_test):i % len(x_test) + 1]
        start = time.perf_counter()
        runner.predict_one(sample)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    request = json.loads(argv[0])
    kind = request.get("kind", "epoch")
    if kind == "floor":
        result = measure_floor(request)
    elif kind == "steps":
        from benchmarks.steps import measure_steps

        result = measure_steps(request)
    else:
        result = measure_epoch(request)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
