"""``python -m benchmarks``: the workloads in every framework, interleaved over rounds.

Each round, at each thread count (1 and 2 by default), measures every selected workload's
GEMM floor at its real shapes, then trains it once in nnframe and once in each peer
framework, one after the other (the order rotates from round to round), each in a fresh
process (see `benchmarks.measure`); then it times optimizer steps in nnframe and PyTorch
(`benchmarks.steps`). Then: the start-up times, a table on stdout, results/latest.json, a
chart and, for a full run, docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import machine, report, startup
from benchmarks.steps import SIZES
from benchmarks.workloads import WORKLOADS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs"
# Set on some machines for old OpenBLAS builds; they slow a current one, so the measuring
# processes run without them (this command only: nothing else is changed).
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
QUICK_SAMPLES = 10_000
FRAMEWORKS = ("nnframe", "nnframe-threads", "torch", "torch-default", "sklearn")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds of interleaved measurements (default 5)")
    parser.add_argument("--quick", action="store_true",
                        help=f"one round on the first {QUICK_SAMPLES:,} images, fewer repeats; "
                             "writes results/quick.json and no docs")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help="comma-separated subset of " + ", ".join(WORKLOADS))
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS),
                        help="comma-separated subset of " + ", ".join(FRAMEWORKS) + " (torch: "
                             "fused optimizers, its best CPU setting; torch-default: "
                             "torch.optim's defaults)")
    parser.add_argument("--threads", default="1,2",
                        help="comma-separated thread counts, each measured every round "
                             "(default 1,2)")
    parser.add_argument("--steps", default=",".join(SIZES),
                        help="optimizer step sizes to time, of " + ", ".join(SIZES)
                             + " (default all)")
    parser.add_argument("--no-steps", action="store_true", help="skip the optimizer steps")
    parser.add_argument("--train-samples", type=int, default=None,
                        help="train on the first N images (default all 60,000)")
    parser.add_argument("--no-docs", action="store_true",
                        help="do not rewrite docs/performance.md and its chart")
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up times")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds allowed for one measurement (default 1800)")
    parser.add_argument("--report-only", metavar="JSON", type=Path, default=None,
                        help="measure nothing: print and chart a saved results file (and "
                             "rewrite the docs from it unless --no-docs)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds = 1
        args.train_samples = args.train_samples or QUICK_SAMPLES
        args.no_docs = True
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    args.workloads = _choices(parser, "--workloads", args.workloads, WORKLOADS)
    args.frameworks = _choices(parser, "--frameworks", args.frameworks, FRAMEWORKS)
    args.steps = [] if args.no_steps else _choices(parser, "--steps", args.steps, SIZES)
    try:
        args.threads = sorted({int(t) for t in args.threads.split(",") if t.strip()})
    except ValueError:
        parser.error(f"--threads: expected counts like 1,2, got {args.threads!r}")
    if not args.threads or min(args.threads) < 1:
        parser.error("--threads: give at least one count, each at least 1")
    if "nnframe" not in args.frameworks:
        parser.error("--frameworks must include nnframe: every ratio is nnframe / peer")
    return args


def _choices(parser: argparse.ArgumentParser, flag: str, value: str, known) -> list[str]:
    chosen = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in known]
    if unknown or not chosen:
        parser.error(f"{flag}: unknown {', '.join(unknown) or '(none given)'}; "
                     f"choose from {', '.join(known)}")
    return chosen


def measuring_env() -> tuple[dict[str, str], list[str]]:
    """The environment of the measuring processes, and the variables removed from it."""
    env = dict(os.environ)
    removed = [name for name in OPENBLAS_OVERRIDES if env.pop(name, None) is not None]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env, removed


def missing_plugin(workload: str) -> str | None:
    needed = WORKLOADS[workload].plugin
    if needed and machine.version(needed) is None:
        return needed
    return None


def run_measure(request: dict[str, Any], env: dict[str, str], timeout: float) -> dict[str, Any]:
    """One measurement in a fresh interpreter; its JSON line back as a dict, with the
    machine's load when it started."""
    pressure = machine.cpu_pressure()
    command = [sys.executable, "-m", "benchmarks.measure", json.dumps(request)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {**request, "error": f"took more than {timeout:.0f} s"}
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["(no output)"]
        return {**request, "error": f"exit {done.returncode}: {tail[0]}"}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["cpu_pressure"] = pressure
    return result


def write_outputs(results: dict[str, Any], stem: str, docs: bool) -> None:
    """The table on stdout, results/<stem>.json and .png, and the docs page."""
    print(report.format_report(results))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(results, indent=1) + "\n")
    report.chart(results, RESULTS / f"{stem}.png")
    if docs:
        (DOCS / "img").mkdir(parents=True, exist_ok=True)
        report.chart(results, DOCS / "img" / "performance.png")
        (DOCS / "performance.md").write_text(report.markdown(results))
        print(f"wrote {RESULTS / (stem + '.json')}, docs/performance.md and "
              "docs/img/performance.png", file=sys.stderr)


def rotated(items: list[str], round_index: int) -> list[str]:
    shift = round_index % len(items)
    return items[shift:] + items[:shift]


def plan(args: argparse.Namespace, workloads: list[str]) -> list[list[dict[str, Any]]]:
    """The requests of each round, in the order they run."""
    rounds = []
    for round_index in range(args.rounds):
        requests: list[dict[str, Any]] = []
        for threads in args.threads:
            for name in workloads:
                common = {"workload": name, "threads": threads, "round": round_index,
                          "train_samples": args.train_samples or 60_000}
                requests.append({"kind": "floor", **common})
                frameworks = [f for f in ("nnframe", "nnframe-threads", *WORKLOADS[name].peers)
                              if f in args.frameworks
                              and (f != "nnframe-threads" or threads > 1)]
                for framework in rotated(frameworks, round_index):
                    requests.append({
                        "kind": "epoch", "framework": framework, "seed": round_index,
                        **common, "train_samples": args.train_samples,
                        "inference_repeats": 3 if args.quick else 5,
                        "latency_repeats": 100 if args.quick else 300})
            for size in args.steps:
                frameworks = [f for f in ("nnframe", "torch") if f in args.frameworks]
                for framework in rotated(frameworks, round_index):
                    requests.append({"kind": "steps", "framework": framework, "size": size,
                                     "threads": threads, "round": round_index,
                                     "repeats": 3 if args.quick else 7})
        rounds.append(requests)
    return rounds


def label(request: dict[str, Any]) -> str:
    if request["kind"] == "steps":
        return f"{request['threads']}t steps {request['size']:>4} {request['framework']:>13}"
    framework = "floor" if request["kind"] == "floor" else request["framework"]
    return f"{request['threads']}t {request['workload']:>8} {framework:>13}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.report_only:
        saved = json.loads(args.report_only.read_text())
        results = report.assemble(saved["machine"], saved["measurements"], saved["startup"],
                                  saved["skipped"], saved["options"])
        write_outputs(results, args.report_only.stem, docs=not args.no_docs)
        return 0
    env, removed = measuring_env()
    if removed:
        print(f"note: measuring without {' and '.join(removed)} (set for old OpenBLAS builds; "
              "they slow a current one)", file=sys.stderr)
    for framework, distribution in (("torch", "torch"), ("torch-default", "torch"),
                                    ("sklearn", "scikit-learn")):
        if framework in args.frameworks and machine.version(distribution) is None:
            args.frameworks.remove(framework)
            print(f"{framework}: skipped: {distribution} is not installed (nox -s bench "
                  "installs it)", file=sys.stderr)
    workloads = []
    skipped = {}
    for name in args.workloads:
        plugin = missing_plugin(name)
        if plugin:
            skipped[name] = (f"skipped: needs the {plugin} plugin, which is not installed "
                             f"(pip install ./plugins/{plugin})")
            print(f"{name}: {skipped[name]}", file=sys.stderr)
        else:
            workloads.append(name)

    info = machine.describe()
    info["threads"] = args.threads
    info["openblas_variables_removed"] = removed
    print(f"machine: {info['cpu']}, {info['cores']} cores, threads {args.threads}, load "
          f"{info['load_average_start']}, CPU pressure {machine.cpu_pressure()}%",
          file=sys.stderr)

    measurements = []
    started = time.perf_counter()
    rounds = plan(args, workloads)
    for round_index, requests in enumerate(rounds):
        for request in requests:
            result = run_measure(request, env, args.timeout)
            result["round"] = round_index
            measurements.append(result)
            if "blas" in result and "blas" not in info:
                info["blas"] = result["blas"]
            print(f"round {round_index + 1}/{args.rounds} {label(request)}: "
                  + report.describe_measurement(result), file=sys.stderr)
    info["load_average_end"] = machine.load_average()
    info["cpu_pressure"] = [m.get("cpu_pressure") for m in measurements]
    info["measuring_s"] = time.perf_counter() - started

    startup_results = None
    if not args.no_startup:
        startup_results = startup.measure(repeats=3 if args.quick else 7, env=env)

    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    results = report.assemble(info, measurements, startup_results, skipped, options)
    # latest.json goes with the docs; runs that leave the docs alone keep their own file
    stem = "latest" if not args.no_docs else ("quick" if args.quick else "partial")
    write_outputs(results, stem, docs=not args.no_docs)
    return 0 if all("error" not in m for m in measurements) else 1


if __name__ == "__main__":
    sys.exit(main())
