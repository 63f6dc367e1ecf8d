"""``python -m benchmarks.numba_rows``: nnframe with and without nnframe-numba against
PyTorch (fused Adam) on whole training runs, and what nnframe-numba costs ``nnframe list``.

- **mlp epoch**: the mlp workload (784-256-relu-128-relu-10, cross-entropy, Adam 1e-3,
  batch 128) for one epoch of the 60,000 MNIST training images: nnframe with the NumPy
  reference kernels (``fit(kernels="reference")``), nnframe with the fastest installed
  (``"auto"``: nnframe-numba's fused Adam when it is installed) and PyTorch with
  ``fused=True`` Adam.
- **batch-1 step**: width-w-relu-w-relu-10 (input width w, cross-entropy, Adam 1e-3) trained
  one sample at a time, w = 256, 1024 and 4096: the time of one step is the time of an
  epoch of N samples at batch size 1 over N, in the same three settings.

Each thread count runs in its own fresh process (BLAS and PyTorch limited to it,
``NNFRAME_NUM_THREADS`` set); there every setting is first trained once on a few samples
(numba's kernel loaded, threads started), then each round trains each setting once, the
order rotating from round to round. Reported: the median over the rounds of process CPU
time (what counts at 1 thread on a shared machine) and of wall time (what counts at 2
threads), their spread, and the ratios to PyTorch.

- **``nnframe list`` cold start**: a fresh process of the installed ``nnframe list``, CPU
  time (user + system of the child), every installed plugin loaded against every plugin
  but nnframe-numba (``NNFRAME_LOAD_PLUGINS``), interleaved; and whether numba was imported.

Results go to stdout as a table and to benchmarks/results/numba_rows.json (not committed).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.workloads import WORKLOADS, Workload, _layers

RESULTS = Path(__file__).resolve().parent / "results"
SETTINGS = ("nnframe reference", "nnframe numba", "torch fused")
WIDTHS = (256, 1024, 4096)
#: samples of one batch-1 epoch at each width: about a second of CPU at 1 thread
BATCH1_SAMPLES = {256: 500, 1024: 100, 4096: 10}
WARM_SAMPLES = 1024


def batch1_workload(width: int) -> Workload:
    return Workload(f"batch1-{width}",
                    _layers(("dense", width), ("relu",), ("dense", width), ("relu",),
                            ("dense", 10)),
                    loss="cross_entropy", optimizer="adam", learning_rate=1e-3, batch_size=1,
                    peers=("torch",), input_shape=(width,),
                    description=f"{width}-{width}-relu-{width}-relu-10, Adam, batch 1")


def _runner(setting: str, workload: Workload, x: Any, y: Any) -> Any:
    """A runner of `benchmarks.frameworks` for the setting; nnframe's passes ``kernels``."""
    from benchmarks.frameworks import NNFrameRunner, TorchRunner

    if setting == "torch fused":
        return TorchRunner(workload, 0, x, y)
    runner = NNFrameRunner(workload, 0, x, y)
    mode = "reference" if setting == "nnframe reference" else "auto"

    def train_epoch() -> None:
        runner.net.fit(runner.x, runner.y, epochs=1, batch_size=workload.batch_size,
                       verbose=0, kernels=mode)
    runner.train_epoch = train_epoch
    return runner


def _kernel_used(setting: str) -> str:
    """Who provides Adam's step in the setting: nnframe's reference, or a plugin."""
    if setting == "torch fused":
        return "torch"
    from nnframe.speed.kernels import choices

    mode = "reference" if setting == "nnframe reference" else "auto"
    return choices(("adam_step",), mode)[0].provider


def _rounds(cases: dict[str, Any], rounds: int) -> dict[str, Any]:
    """Train every case once per round, rotating the order; per case the median and
    spread of CPU and wall seconds."""
    runs: dict[str, list[tuple[float, float]]] = {label: [] for label in cases}
    labels = list(cases)
    for index in range(rounds):
        shift = index % len(labels)
        for label in labels[shift:] + labels[:shift]:
            cpu, wall = time.process_time(), time.perf_counter()
            cases[label]()
            runs[label].append((time.process_time() - cpu, time.perf_counter() - wall))
    return {label: _summary([r[0] for r in values], [r[1] for r in values])
            for label, values in runs.items()}


def _summary(cpu: list[float], wall: list[float]) -> dict[str, Any]:
    return {"cpu_s": statistics.median(cpu), "cpu_spread_s": [min(cpu), max(cpu)],
            "wall_s": statistics.median(wall), "wall_spread_s": [min(wall), max(wall)],
            "cpu_runs": cpu, "wall_runs": wall}


def child(threads: int, rounds: int, rows: list[str], data_dir: str | None) -> dict[str, Any]:
    """Every row at ``threads`` in this process (see the module's docstring)."""
    import torch

    from benchmarks.measure import limit_threads

    torch.set_num_threads(threads)
    limit_threads(threads)
    import numpy as np

    cases: dict[str, Any] = {}
    scale: dict[str, int] = {}  # label -> steps per run (to report per-step times)
    if "mlp" in rows:
        from nnframe.datasets import mnist

        x, y = mnist("train", data_dir)
        workload = WORKLOADS["mlp"]
        for setting in SETTINGS:
            _runner(setting, workload, x[:WARM_SAMPLES], y[:WARM_SAMPLES]).train_epoch()
            runner = _runner(setting, workload, x, y)
            cases[f"mlp epoch|{setting}"] = runner.train_epoch
            scale[f"mlp epoch|{setting}"] = 1
    if "batch1" in rows:
        rng = np.random.default_rng(0)
        for width in WIDTHS:
            samples = BATCH1_SAMPLES[width]
            x = rng.standard_normal((samples, width)).astype(np.float32)
            y = rng.integers(0, 10, samples)
            workload = batch1_workload(width)
            for setting in SETTINGS:
                _runner(setting, workload, x[:8], y[:8]).train_epoch()
                runner = _runner(setting, workload, x, y)
                label = f"batch-1 step {width}|{setting}"
                cases[label], scale[label] = runner.train_epoch, samples
    results = _rounds(cases, rounds)
    for label, row in results.items():
        steps = scale[label]
        for key in ("cpu_s", "wall_s"):
            row[key] /= steps
        for key in ("cpu_spread_s", "wall_spread_s"):
            row[key] = [value / steps for value in row[key]]
        row["steps_per_run"] = steps
        row["kernel"] = _kernel_used(label.split("|")[1])
    return results


def measure_rows(threads: list[int], rounds: int, rows: list[str]) -> dict[str, Any]:
    results = {}
    for count in threads:
        request = {"threads": count, "rounds": rounds, "rows": rows,
                   "data_dir": os.environ.get("NNFRAME_DATA_DIR")}
        done = subprocess.run([sys.executable, "-m", "benchmarks.numba_rows", "--child",
                               json.dumps(request)], capture_output=True, text=True,
                              check=False, env={**os.environ, "NNFRAME_NUM_THREADS": str(count)})
        if done.returncode != 0:
            raise RuntimeError(f"the {count}-thread process exited {done.returncode}:\n"
                               + done.stderr[-3000:])
        results[f"{count}t"] = json.loads(done.stdout.splitlines()[-1])
    return results


def _other_plugins() -> str:
    """Every installed nnframe plugin distribution but nnframe-numba, for
    ``NNFRAME_LOAD_PLUGINS``."""
    names = sorted({entry.dist.name for entry in importlib.metadata.entry_points(group="nnframe")
                    if entry.dist is not None and entry.dist.name != "nnframe-numba"})
    return ",".join(names)


LIST_PROBE = ("import atexit, sys\n"
              "atexit.register(lambda: sys.stderr.write('\\nNUMBA_IMPORTED=%s\\n' % "
              "('numba' in sys.modules)))\n"
              "sys.argv = ['nnframe', 'list']\n"
              "from nnframe.cli import main\n"
              "main()\n")


def _list_once(env: dict[str, str]) -> tuple[float, float, bool]:
    """CPU and wall seconds of one fresh ``nnframe list``, and whether it imported numba."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", LIST_PROBE], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    stderr = process.stderr.read() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"nnframe list exited {os.waitstatus_to_exitcode(status)}: "
                           f"{stderr[-2000:]}")
    return usage.ru_utime + usage.ru_stime, wall, "NUMBA_IMPORTED=True" in stderr


def measure_list(rounds: int) -> dict[str, Any]:
    base = {k: v for k, v in os.environ.items() if k != "NNFRAME_LOAD_PLUGINS"}
    envs = {"with nnframe-numba": base,
            "without nnframe-numba": {**base, "NNFRAME_LOAD_PLUGINS": _other_plugins()}}
    for env in envs.values():
        _list_once(env)  # .pyc files and the file cache
    runs: dict[str, list[tuple[float, float, bool]]] = {label: [] for label in envs}
    labels = list(envs)
    for index in range(rounds):
        for label in labels[index % 2:] + labels[:index % 2]:
            runs[label].append(_list_once(envs[label]))
    return {label: {**_summary([r[0] for r in values], [r[1] for r in values]),
                    "numba_imported": any(r[2] for r in values)}
            for label, values in runs.items()}


def report(rows: dict[str, Any], listing: dict[str, Any] | None) -> str:
    lines = ["median over rounds; CPU s (process) and wall s; spread min-max; ratio to "
             "torch fused (1 thread: CPU, 2+ threads: wall)"]
    for threads, table in rows.items():
        ratio_key = "cpu_s" if threads == "1t" else "wall_s"
        lines.append(f"{threads}: {'row':<22}{'setting':<20}{'CPU':>10}{'(spread)':>20}"
                     f"{'wall':>10}{'(spread)':>20}{'ratio':>8}  Adam step by")
        for label, row in table.items():
            name, setting = label.split("|")
            torch_row = table.get(f"{name}|torch fused")
            ratio = f"{row[ratio_key] / torch_row[ratio_key]:.2f}" if torch_row else "-"
            unit, factor = ("ms", 1e3) if row["steps_per_run"] > 1 else ("s", 1.0)
            cpu_spread = "-".join(f"{v * factor:.3g}" for v in row["cpu_spread_s"])
            wall_spread = "-".join(f"{v * factor:.3g}" for v in row["wall_spread_s"])
            lines.append(f"    {name:<22}{setting:<20}{row['cpu_s'] * factor:>8.3g}{unit:<2}"
                         f"{cpu_spread:>20}{row['wall_s'] * factor:>8.3g}{unit:<2}"
                         f"{wall_spread:>20}{ratio:>8}  {row['kernel']}")
    if listing:
        lines.append("")
        lines.append("nnframe list, fresh process: CPU s median (spread), wall s median, "
                     "numba imported")
        for label, row in listing.items():
            lines.append(f"  {label:<24}{row['cpu_s']:7.3f} ({row['cpu_spread_s'][0]:.3f}-"
                         f"{row['cpu_spread_s'][1]:.3f}){row['wall_s']:8.3f}   "
                         f"{row['numba_imported']}")
        with_numba = listing["with nnframe-numba"]["cpu_s"]
        without = listing["without nnframe-numba"]["cpu_s"]
        lines.append(f"  ratio with/without: {with_numba / without:.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.numba_rows", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rows", default="mlp,batch1,list",
                        help="comma-separated subset of mlp, batch1, list")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        request = json.loads(args.child)
        print(json.dumps(child(request["threads"], request["rounds"], request["rows"],
                               request["data_dir"])))
        return 0
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = set(rows) - {"mlp", "batch1", "list"}
    if unknown or not rows:
        parser.error(f"--rows: unknown {', '.join(sorted(unknown)) or '(none)'}")
    try:
        import torch  # noqa: F401
    except ImportError:
        parser.error("needs PyTorch (nox -s bench installs it)")
    trained = [r for r in rows if r != "list"]
    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", file=sys.stderr)
    results = measure_rows(threads, args.rounds, trained) if trained else {}
    listing = measure_list(max(5, args.rounds)) if "list" in rows else None
    print(report(results, listing))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "numba_rows.json").write_text(json.dumps(
        {"rows": results, "nnframe_list": listing, "load_average": os.getloadavg()},
        indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
