"""``python -m benchmarks.kernels``: the optimizer steps with and without nnframe-numba,
against PyTorch's fused optimizers, and what a fresh process pays to use the kernels.

Steps: for each thread count (a fresh process each, BLAS and nnframe's threads limited
with threadpoolctl and ``NNFRAME_NUM_THREADS``, PyTorch with ``torch.set_num_threads``),
every round times one step of nnframe's NumPy reference, nnframe-numba's kernel and
PyTorch's fused optimizer (foreach for RMSprop, which has no fused CPU kernel) one after
the other, on the same sizes as `benchmarks.steps` (235k and 20M parameters); the median
CPU and wall time per step over the rounds, with the spread.

Start-up: a fresh ``python -c`` that imports nnframe and gets the ``adam_step`` kernel,
with ``NNFRAME_KERNELS=reference`` (NumPy's), with nnframe-numba and its cache warm, and
with an empty cache (the first compile); CPU seconds and peak RSS of that process. The
break-even number of steps is the extra start-up CPU over the CPU a step saves.

Batch 1: the dense layer's weight gradient of one sample as GEMM with k = 1 against the
outer product that `nnframe.layers.dense` now takes.

Adam's two NumPy forms (``--forms`` alone runs only these): today's 12 passes a block
(`nnframe.optimizers.kernels.adam_step`) against 10 with pre-scaled moments (M = m/(1 - b1)
and V = v/(1 - b2) kept instead of m and v, so that M = b1 M + g and V = b2 V + g^2 lose a
multiply each), through the same blocks, one thread, CPU time per step in interleaved
rounds at 235k, 2M and 20M elements; and the share of float32 moments that do not come
back bit for bit from torch's layout (m = (1 - b1) M, as model files keep it) to M: why
nnframe keeps the 12-pass form (resuming from a file must continue exactly).

Results go to stdout as a table and to benchmarks/results/kernels.json (not committed).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.steps import SIZES, parameter_count

RESULTS = Path(__file__).resolve().parent / "results"
#: kernel -> (nnframe optimizer, its options, torch options)
OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "adam_step": ("adam", {}),
    "adamw_step": ("adamw", {"weight_decay": 0.01}),
    "sgd_step": ("sgd", {"momentum": 0.9}),
    "rmsprop_step": ("rmsprop", {}),
}
LEARNING_RATE = 1e-3


def _steps_in_process(size: str, rounds: int, threads: int) -> dict[str, Any]:
    """Time every implementation of every kernel at ``size``, interleaved by round."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    import nnframe
    from nnframe.speed import blocked as reference

    threadpool_limits(limits=threads, user_api="blas")
    count = parameter_count(size)
    rng = np.random.default_rng(0)
    steps: dict[str, Any] = {}
    for kernel, (name, options) in OPTIMIZERS.items():
        arrays = [rng.standard_normal(count).astype(np.float32) for _ in range(4)]
        arrays[3] = np.abs(arrays[3])
        for provider in ("reference", "numba"):
            try:
                function = (getattr(reference, kernel) if provider == "reference"
                            else getattr(__import__("nnframe_numba.optimizers",
                                                    fromlist=[kernel]), kernel))
            except ImportError:
                continue
            steps[f"{kernel} {provider}"] = _call(kernel, function, arrays)
        torch_step = _torch_step(name, options, count, threads)
        if torch_step is not None:
            steps[f"{kernel} torch"] = torch_step
    del nnframe
    per_call = max(1, 2_000_000 // count)
    timings: dict[str, list[tuple[float, float]]] = {label: [] for label in steps}
    for step in steps.values():
        step()
    for _ in range(rounds):
        for label, step in steps.items():
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(per_call):
                step()
            timings[label].append(((time.process_time() - cpu) / per_call,
                                   (time.perf_counter() - wall) / per_call))
    return {label: {"cpu_s": statistics.median(t[0] for t in runs),
                    "cpu_spread_s": [min(t[0] for t in runs), max(t[0] for t in runs)],
                    "wall_s": statistics.median(t[1] for t in runs)}
            for label, runs in timings.items()}


def _call(kernel: str, function: Any, arrays: list[Any]) -> Any:
    values, grads, first, second = arrays
    counter = [0]
    if kernel in ("adam_step", "adamw_step"):
        extra = {"weight_decay": 0.01} if kernel == "adamw_step" else {}

        def step() -> None:
            counter[0] += 1
            function(values, grads, first, second, lr=LEARNING_RATE, beta1=0.9,
                     beta2=0.999, eps=1e-8, step=counter[0], **extra)
        return step
    if kernel == "sgd_step":
        return lambda: function(values, grads, first, lr=LEARNING_RATE, momentum=0.9)
    return lambda: function(values, grads, second, lr=LEARNING_RATE, alpha=0.99, eps=1e-8)


def _torch_step(name: str, options: dict[str, Any], count: int, threads: int) -> Any:
    try:
        import torch
    except ImportError:
        return None
    from benchmarks.workloads import torch_optimizer

    torch.set_num_threads(threads)
    parameter = torch.nn.Parameter(torch.randn(count))
    parameter.grad = torch.randn(count) * 1e-2
    return torch_optimizer(name, [parameter], LEARNING_RATE, "fused", **dict(options)).step


def _child(request: dict[str, Any]) -> None:
    os.environ["NNFRAME_NUM_THREADS"] = str(request["threads"])
    print(json.dumps(_steps_in_process(request["size"], request["rounds"],
                                       request["threads"])))


def measure_steps(sizes: list[str], threads: list[int], rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for size in sizes:
        for count in threads:
            request = {"size": size, "threads": count, "rounds": rounds}
            done = subprocess.run([sys.executable, "-m", "benchmarks.kernels", "--child",
                                   json.dumps(request)], capture_output=True, text=True,
                                  check=True, env={**os.environ,
                                                   "NNFRAME_NUM_THREADS": str(count)})
            results[f"{size} {count}t"] = json.loads(done.stdout.splitlines()[-1])
    return results


def measure_rank1(widths: list[int], rounds: int) -> dict[str, Any]:
    """The batch-1 weight gradient x^T g at each width, one BLAS thread: GEMM with k = 1
    (``np.matmul``) against the outer product into the buffer (``np.multiply``), CPU s."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    results = {}
    with threadpool_limits(limits=1, user_api="blas"):
        for width in widths:
            rng = np.random.default_rng(width)
            x = rng.standard_normal((1, width)).astype(np.float32)
            g = rng.standard_normal((1, width)).astype(np.float32)
            out = np.empty((width, width), np.float32)
            ways = {"matmul": lambda x=x, g=g, out=out: np.matmul(x.T, g, out=out),
                    "multiply": lambda x=x, g=g, out=out: np.multiply(x.reshape(-1, 1), g,
                                                                      out=out)}
            repeats = max(1, 1_000_000 // (width * width))
            runs: dict[str, list[float]] = {way: [] for way in ways}
            for _ in range(rounds):
                for way, call in ways.items():
                    start = time.process_time()
                    for _ in range(repeats):
                        call()
                    runs[way].append((time.process_time() - start) / repeats)
            results[str(width)] = {way: statistics.median(t) for way, t in runs.items()}
    return results


#: Elements of one buffer for the comparison of Adam's forms.
FORM_SIZES = {"235k": 235_146, "2M": 2_000_000, "20M": 20_008_000}


def _adam_ten_passes(arrays: Any, scratch: Any, scalars: tuple) -> None:
    """Adam on one block with pre-scaled moments M = m/(1 - b1), V = v/(1 - b2):
    M = b1 M + g; V = b2 V + g^2; p -= step_hat M / (sqrt(V) + eps_hat)."""
    import numpy as np

    p, g, first, second = arrays
    t, _ = scratch
    beta1, beta2, eps_hat, step_hat = scalars
    np.multiply(first, beta1, first)
    np.add(first, g, first)
    np.multiply(second, beta2, second)
    np.multiply(g, g, t)
    np.add(second, t, second)
    np.sqrt(second, t)
    np.add(t, eps_hat, t)
    np.divide(first, t, t)
    np.multiply(t, step_hat, t)
    np.subtract(p, t, p)


def adam_ten_passes(values: Any, grads: Any, first: Any, second: Any, *, lr: float,
                    beta1: float, beta2: float, eps: float, step: int) -> None:
    """One Adam step in the 10-pass form: ``first`` and ``second`` are the pre-scaled
    moments. With c = sqrt((1 - b2)/(1 - b2^t)), torch's update lr/(1 - b1^t) m /
    (sqrt(v)/sqrt(1 - b2^t) + eps) is lr (1 - b1)/(1 - b1^t)/c M / (sqrt(V) + eps/c)."""
    import math

    import numpy as np

    from nnframe.speed import blocked as reference

    c = math.sqrt((1.0 - beta2) / (1.0 - beta2**step))
    dtype = values.dtype
    scalars = tuple(np.array(x, dtype) for x in (
        beta1, beta2, eps / c, lr * (1.0 - beta1) / (1.0 - beta1**step) / c))
    reference._apply(_adam_ten_passes, (values, grads, first, second), scalars, scratch=2)


def measure_adam_forms(sizes: list[str], rounds: int) -> dict[str, Any]:
    """CPU s per Adam step of the 12- and 10-pass forms, interleaved, one thread; and the
    share of moments a round trip through torch's layout changes."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from nnframe.speed import blocked as reference
    from nnframe.speed import parallel

    results: dict[str, Any] = {}
    parallel.set_num_threads(1)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            for size in sizes:
                count = FORM_SIZES[size]
                rng = np.random.default_rng(0)
                forms = {"12 passes": reference.adam_step, "10 passes": adam_ten_passes}
                arrays = {}
                for form in forms:
                    values, grads, first, second = (
                        rng.standard_normal(count).astype(np.float32) for _ in range(4))
                    arrays[form] = (values, grads * 1e-2, first * 1e-2,
                                    np.abs(second) * 1e-4)
                per_call = max(1, 4_000_000 // count)
                runs: dict[str, list[float]] = {form: [] for form in forms}
                for index in range(rounds + 1):  # the first round warms up
                    for form, function in forms.items():
                        start = time.process_time()
                        for call in range(per_call):
                            function(*arrays[form], lr=LEARNING_RATE, beta1=0.9,
                                     beta2=0.999, eps=1e-8, step=index * per_call + call + 1)
                        if index:
                            runs[form].append((time.process_time() - start) / per_call)
                ratios = [ten / twelve for ten, twelve
                          in zip(runs["10 passes"], runs["12 passes"], strict=True)]
                results[size] = {form: {"cpu_s": statistics.median(t),
                                        "cpu_spread_s": [min(t), max(t)]}
                                 for form, t in runs.items()}
                results[size]["ratio"] = statistics.median(ratios)
                results[size]["ratio_spread"] = [min(ratios), max(ratios)]
    finally:
        parallel.set_num_threads(None)
    rng = np.random.default_rng(1)
    moments = (rng.standard_normal(1_000_000) * np.exp(rng.uniform(-10, 5, 1_000_000))
               ).astype(np.float32)
    for name, beta in (("m", 0.9), ("v", 0.999)):
        torch_layout = (moments.astype(np.float64) * (1.0 - beta)).astype(np.float32)
        back = (torch_layout.astype(np.float64) / (1.0 - beta)).astype(np.float32)
        results[f"round trip changes {name}"] = float(np.mean(back != moments))
    return results


START_CODE = ("import nnframe, numpy as np\n"
              "nnframe.kernel('adam_step')\n"
              "import resource\n"
              "try:\n"
              "    status = open('/proc/self/status').read()\n"
              "    print(int(status.split('VmHWM:')[1].split()[0]) / 1024)\n"
              "except (OSError, IndexError):\n"
              "    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n")


def _start(env: dict[str, str]) -> tuple[float, float]:
    """CPU seconds and peak RSS (MB) of one fresh process running `START_CODE`. The peak
    is the child's own (``VmHWM``): the ``ru_maxrss`` that ``wait4`` reports keeps the
    parent's peak at the fork, and this benchmark's parent has held 20M-element arrays."""
    process = subprocess.Popen([sys.executable, "-c", START_CODE], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"the start-up probe exited {process.returncode}")
    return usage.ru_utime + usage.ru_stime, float(out.split()[-1])


def measure_startup(rounds: int) -> dict[str, Any]:
    """Start-up CPU and RSS: reference, numba with a warm cache, numba compiling."""
    base = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    runs: dict[str, list[tuple[float, float]]] = {"reference": [], "numba, cached": [],
                                                  "numba, first compile": []}
    with tempfile.TemporaryDirectory() as warm:
        _start({**base, "NUMBA_CACHE_DIR": warm})
        for _ in range(rounds):
            runs["reference"].append(_start({**base, "NNFRAME_KERNELS": "reference"}))
            runs["numba, cached"].append(_start({**base, "NUMBA_CACHE_DIR": warm}))
            with tempfile.TemporaryDirectory() as cold:
                runs["numba, first compile"].append(_start({**base, "NUMBA_CACHE_DIR": cold}))
    return {label: {"cpu_s": statistics.median(r[0] for r in values),
                    "cpu_spread_s": [min(r[0] for r in values), max(r[0] for r in values)],
                    "rss_mb": statistics.median(r[1] for r in values)}
            for label, values in runs.items()}


def report_forms(forms: dict[str, Any]) -> str:
    lines = ["Adam, 12 passes (today) against 10 with pre-scaled moments, 1 thread, CPU ms "
             "(median of interleaved rounds, spread); ratio 10/12"]
    for size in FORM_SIZES:
        if size not in forms:
            continue
        row = forms[size]
        cells = [f"{row[f]['cpu_s'] * 1e3:8.3f} ({row[f]['cpu_spread_s'][0] * 1e3:.3f}-"
                 f"{row[f]['cpu_spread_s'][1] * 1e3:.3f})" for f in ("12 passes", "10 passes")]
        lines.append(f"  {size:<6}{cells[0]:>28}{cells[1]:>28}{row['ratio']:8.3f} "
                     f"({row['ratio_spread'][0]:.3f}-{row['ratio_spread'][1]:.3f})")
    lines.append("  float32 moments changed by a round trip through torch's layout: m "
                 f"{forms['round trip changes m']:.1%}, v {forms['round trip changes v']:.1%}")
    return "\n".join(lines)


def report(steps: dict[str, Any], startup: dict[str, Any], rank1: dict[str, Any]) -> str:
    lines = ["optimizer step, CPU ms (median of rounds; wall in brackets); ratio to torch",
             f"{'size':<10}{'kernel':<14}{'reference':>18}{'numba':>18}{'torch':>18}"
             f"{'ref/torch':>11}{'numba/torch':>13}"]
    for key, table in steps.items():
        for kernel in OPTIMIZERS:
            cells = [table.get(f"{kernel} {p}") for p in ("reference", "numba", "torch")]
            text = [f"{c['cpu_s'] * 1e3:8.3f} [{c['wall_s'] * 1e3:7.3f}]" if c else "-"
                    for c in cells]
            ratios = [f"{c['cpu_s'] / cells[2]['cpu_s']:.2f}" if c and cells[2] else "-"
                      for c in cells[:2]]
            lines.append(f"{key:<10}{kernel:<14}{text[0]:>18}{text[1]:>18}{text[2]:>18}"
                         f"{ratios[0]:>11}{ratios[1]:>13}")
    lines.append("")
    lines.append("fresh process: import nnframe, get adam_step; CPU s, peak RSS MB")
    for label, row in startup.items():
        lines.append(f"  {label:<22}{row['cpu_s']:7.2f} s ({row['cpu_spread_s'][0]:.2f}-"
                     f"{row['cpu_spread_s'][1]:.2f}){row['rss_mb']:8.0f} MB")
    extra = startup["numba, cached"]["cpu_s"] - startup["reference"]["cpu_s"]
    lines.append("")
    lines.append(f"break-even (cached start-up {extra:.2f} s CPU over the reference's), "
                 "steps:")
    for key, table in steps.items():
        for kernel in OPTIMIZERS:
            ref, fused = table.get(f"{kernel} reference"), table.get(f"{kernel} numba")
            if ref and fused and ref["cpu_s"] > fused["cpu_s"]:
                steps_needed = extra / (ref["cpu_s"] - fused["cpu_s"])
                lines.append(f"  {key:<10}{kernel:<14}{steps_needed:10.0f}")
    lines.append("")
    lines.append("batch-1 weight gradient, 1 thread, CPU us: matmul (k = 1), multiply, ratio")
    for width, row in rank1.items():
        lines.append(f"  {width:>6}{row['matmul'] * 1e6:10.1f}{row['multiply'] * 1e6:10.1f}"
                     f"{row['multiply'] / row['matmul']:8.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.kernels", description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--sizes", default=",".join(SIZES))
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--forms", action="store_true",
                        help="only compare Adam's 12- and 10-pass NumPy forms")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(json.loads(args.child))
        return
    forms = measure_adam_forms(list(FORM_SIZES), args.rounds)
    print(report_forms(forms))
    if args.forms:
        return
    steps = measure_steps(args.sizes.split(","), [int(t) for t in args.threads.split(",")],
                          args.rounds)
    startup = measure_startup(max(3, args.rounds // 2))
    rank1 = measure_rank1([256, 1024, 4096], args.rounds)
    text = report(steps, startup, rank1)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "kernels.json").write_text(json.dumps(
        {"steps": steps, "startup": startup, "rank1": rank1, "adam_forms": forms}, indent=2))


if __name__ == "__main__":
    main()
