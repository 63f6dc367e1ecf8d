"""One measurement in a fresh process: ``python -m benchmarks.measure '<json request>'``.

A request names a framework, a workload, a seed and a thread count; the process loads the
MNIST training images, builds the network, times one epoch, reads its peak memory, then
loads the test images and times inference. The result is one JSON line on stdout.
``{"gemm": true, "threads": N}`` instead measures the float32 matrix-multiply rate.

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


def measure_gemm(threads: int, size: int = 2048, repeats: int = 5) -> dict[str, Any]:
    """The float32 matrix-multiply rate: the best of ``repeats`` (size x size) products."""
    import numpy as np

    limit_threads(threads)
    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    out = np.empty_like(a)
    np.matmul(a, b, out=out)  # warm up: threads started, pages touched
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return {"gemm_flops_per_s": 2.0 * size**3 / best, "gemm_size": size,
            "blas": blas_info()}


def measure_epoch(request: dict[str, Any]) -> dict[str, Any]:
    """Train one epoch and time inference, as `request` says (see the module docstring)."""
    framework, threads = request["framework"], int(request["threads"])
    if framework == "torch":
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
    runner = RUNNERS[framework](workload, int(request["seed"]), x, y)
    gc.collect()
    resettable = reset_peak()
    before_epoch = rss_mb()
    start = time.perf_counter()
    runner.train_epoch()
    epoch_s = time.perf_counter() - start
    peak = peak_mb()
    if runner.count_parameters() != count_parameters(workload):  # the same network?
        raise RuntimeError(f"{framework} trained {runner.count_parameters()} parameters for "
                           f"{workload.name}, the workload has {count_parameters(workload)}")

    x_test, y_test = mnist("test", request.get("data_dir"))
    output = runner.predict(x_test)  # warm-up, and the accuracy
    accuracy = float(np.mean(np.argmax(output, axis=1) == y_test))
    runs = []
    for _ in range(int(request.get("inference_repeats", 5))):
        start = time.perf_counter()
        runner.predict(x_test)
        runs.append(time.perf_counter() - start)
    return {
        "framework": framework, "workload": workload.name, "seed": request["seed"],
        "threads": threads, "train_samples": len(x), "test_samples": len(x_test),
        "epoch_s": epoch_s, "accuracy": accuracy,
        "inference_s": statistics.median(runs), "inference_runs": runs,
        "memory": {
            "method": "VmHWM reset before the epoch" if resettable else "ru_maxrss",
            "before_data_mb": before_data, "before_epoch_mb": before_epoch,
            "high_water_mb": peak,
            "peak_mb": peak - before_data, "epoch_extra_mb": peak - before_epoch,
        },
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    request = json.loads(argv[0])
    if request.get("gemm"):
        result = measure_gemm(int(request["threads"]))
    else:
        result = measure_epoch(request)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
