"""Data-parallel scaling on MPI: ``python -m benchmarks.mpi_scaling``.

Trains one epoch of the mlp workload (784-256-relu-128-relu-10, cross-entropy, Adam 1e-3,
global batch 128, the 60,000 MNIST training images) on 1 process x 1 thread and on
2 processes x 1 thread (``mpiexec -n 2``) twice: with the optimizer step sharded (each
process steps half the buffers, the default) and with the whole step on every process
(``MPIStrategy(shard_step=False)``); interleaved, in fresh processes. It reports wall and
CPU time, the time spent in collective operations and the scaling efficiency
(T1 / (2 T2)). Beside them, in the same rounds, two independent 1-thread processes each
train half the epoch at half the batch with no MPI at all: the same work per core as two
ranks that each take the whole step, with communication free, so T1 / (2 T_halves) is
the most the whole step can reach on this machine at that moment (the ceiling); the
sharded step, doing less work per process, may pass it. It also times the two
allreduces of a batch alone (the gradient buffer and the two numbers beside it), the
figures the cluster arithmetic in docs/distributed.md starts from. Needs mpi4py and
mpiexec (``pip install 'nnframe[mpi]'``).

``--worker`` and ``--allreduce`` are the measured processes themselves (one JSON line
on stdout from rank 0).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.workloads import WORKLOADS, build_nnframe

WORKLOAD = WORKLOADS["mlp"]
WARMUP_BATCHES = 20
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                     "MKL_NUM_THREADS")}


def training_data(samples: int | None) -> tuple[np.ndarray, np.ndarray, str]:
    """MNIST's training images, or the shipped sample when the files are not there."""
    from nnframe.datasets import mnist, mnist_sample
    from nnframe.errors import NNFrameError

    try:
        x, y = mnist("train", download=False)
        name = "MNIST"
    except NNFrameError:  # no files: the 2,000 shipped images, said in the report
        x, y = mnist_sample("train")
        name = "the MNIST sample (set NNFRAME_DATA_DIR for the real set)"
    return x[:samples], y[:samples], name


# -- the measured processes ----------------------------------------------------------------




def time_optimizer_steps(cls: type) -> dict[str, float]:
    """Count the CPU time of every ``cls.step`` in this process, in the dict returned."""
    counted = {"cpu_s": 0.0}
    step = cls.step

    def timed(self: Any, group: Any) -> None:
        start = time.process_time()
        step(self, group)
        counted["cpu_s"] += time.process_time() - start

    cls.step = timed
    return counted


def worker(samples: int | None, batch_size: int, whole_step: bool = False) -> None:
    """One epoch of the mlp, timed, on however many processes mpiexec started
    (``whole_step``: every process takes the whole optimizer step)."""
    from nnframe.distributed import MPIStrategy, launch
    from nnframe.speed.kernels import choices
    x, y, data = training_data(samples)
    strategy = None
    if launch().parallel:

        class Timed(MPIStrategy):
            waited = 0.0

            def _wait(self, call, *args, **kwargs):
                start = time.perf_counter()
                try:
                    return super()._wait(call, *args, **kwargs)
                finally:
                    Timed.waited += time.perf_counter() - start

        strategy = Timed(shard_step=not whole_step)
    net = build_nnframe(WORKLOAD, seed=0)
    stepping = time_optimizer_steps(type(net.optimizer))
    net.fit(x[:WARMUP_BATCHES * batch_size], y[:WARMUP_BATCHES * batch_size], epochs=1,
            batch_size=batch_size, seed=0, verbose=0, strategy=strategy)
    if strategy is not None:
        strategy.comm.Barrier()
        type(strategy).waited = 0.0
    stepping["cpu_s"] = 0.0
    wall, cpu = time.perf_counter(), time.process_time()
    net.fit(x, y, epochs=1, batch_size=batch_size, verbose=0, strategy=strategy)
    mine = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
            "collectives_s": type(strategy).waited if strategy is not None else 0.0,
            "optimizer_cpu_s": stepping["cpu_s"]}
    everyone = strategy.comm.gather(mine, root=0) if strategy is not None else [mine]
    if strategy is None or strategy.is_root:
        print(json.dumps({"processes": len(everyone), "ranks": everyone, "data": data,
                          "sharded": bool(getattr(strategy, "sharded", False)),
                          "adam_kernel": choices(("adam_step",))[0].provider,
                          "samples": len(x), "batch_size": batch_size,
                          "batches": -(-len(x) // batch_size),
                          "parameters": net.count_params()}))


def allreduce(size: int, repeats: int) -> None:
    """The two allreduces of a batch, alone: ``size`` float32 gradients, 2 doubles."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    result = {}
    for name, buffer in (("gradients", np.ones(size, np.float32)),
                         ("two_numbers", np.ones(2, np.float64))):
        for _ in range(repeats // 10):
            comm.Allreduce(MPI.IN_PLACE, buffer)
        comm.Barrier()
        start = time.perf_counter()
        for _ in range(repeats):
            comm.Allreduce(MPI.IN_PLACE, buffer)
        result[f"{name}_us"] = (time.perf_counter() - start) / repeats * 1e6
    if comm.Get_rank() == 0:
        print(json.dumps({"bytes": size * 4, **result}))


# -- the comparison ----------------------------------------------------------------------


def run(command: list[str], processes: int) -> dict[str, Any]:
    if processes > 1:
        command = [mpiexec(), "-n", str(processes), *command]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=1800,
                          env={**os.environ, **ONE_THREAD})
    if done.returncode:
        raise SystemExit(f"benchmark run failed ({' '.join(command)}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_halves(command: list[str], samples: int, batch_size: int) -> dict[str, Any]:
    """Two independent processes at once, each half the samples at half the batch."""
    halves = [*command, "--samples", str(-(-samples // 2)),
              "--batch-size", str(-(-batch_size // 2))]
    started = [subprocess.Popen(halves, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env={**os.environ, **ONE_THREAD})
               for _ in range(2)]
    ranks = []
    for process in started:
        out, err = process.communicate(timeout=1800)
        if process.returncode:
            raise SystemExit(f"benchmark run failed ({' '.join(halves)}):\n{err}")
        ranks.append(json.loads(out.strip().splitlines()[-1])["ranks"][0])
    return {"ranks": ranks}


def mpiexec() -> str:
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        raise SystemExit("mpiexec not found: pip install 'nnframe[mpi]'")
    return found


def summarize(rounds: list[dict[Any, dict[str, Any]]], latency: dict[str, Any],
              load: tuple[float, float] | None = None) -> str:
    """The rounds as a table, then the medians and spreads. Each round holds ``1`` (one
    process), ``2`` (two, the step sharded), ``"whole"`` (two, the whole step on each)
    and ``"halves"`` (two independent processes, half the work each)."""
    first = rounds[0][1]
    load_text = (f"load average {load[0]:.1f} before, {load[1]:.1f} after"
                 if load is not None else f"load average {os.getloadavg()[0]:.1f}")
    lines = [f"mlp, one epoch of {first['samples']:,} samples of {first['data']} "
             f"({first['batches']} batches of {first['batch_size']}, {first['parameters']:,} "
             f"parameters, Adam step by {first.get('adam_kernel', 'nnframe')}'s kernel), "
             f"1 thread per process, {len(rounds)} rounds interleaved; "
             f"{load_text} on {os.cpu_count()} cores", "",
             "| round | 1 process: wall, CPU | 2, step sharded: wall, CPU (both), in "
             "collectives | 2, whole step: wall, CPU (both), in collectives | 2 independent "
             "halves: wall | efficiency sharded, whole | ceiling | sharded / ceiling |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    figures: dict[str, list[float]] = {name: [] for name in (
        "sharded", "whole", "sharded_cpu", "whole_cpu", "ceiling", "of_ceiling",
        "whole_of_ceiling")}
    for number, result in enumerate(rounds, 1):
        one = result[1]["ranks"][0]
        cells = [f"{one['wall_s']:.2f} s, {one['cpu_s']:.2f} s"]
        for setting, name in ((2, "sharded"), ("whole", "whole")):
            two = result[setting]["ranks"]
            wall_two = max(rank["wall_s"] for rank in two)
            cpu_two = sum(rank["cpu_s"] for rank in two)
            waited = statistics.mean(rank["collectives_s"] for rank in two)
            figures[name].append(one["wall_s"] / (2 * wall_two))
            figures[f"{name}_cpu"].append(one["cpu_s"] / cpu_two)
            cells.append(f"{wall_two:.2f} s, {cpu_two:.2f} s, {waited:.2f} s")
        wall_halves = max(rank["wall_s"] for rank in result["halves"]["ranks"])
        ceiling = one["wall_s"] / (2 * wall_halves)
        figures["ceiling"].append(ceiling)
        figures["of_ceiling"].append(figures["sharded"][-1] / ceiling)
        figures["whole_of_ceiling"].append(figures["whole"][-1] / ceiling)
        lines.append(f"| {number} | {' | '.join(cells)} | {wall_halves:.2f} s | "
                     f"{figures['sharded'][-1]:.0%}, {figures['whole'][-1]:.0%} | "
                     f"{ceiling:.0%} | {figures['of_ceiling'][-1]:.0%} |")

    def spread(name: str) -> str:
        values = figures[name]
        return (f"median {statistics.median(values):.0%} ({min(values):.0%} to "
                f"{max(values):.0%})")

    lines += ["", f"efficiency T1 / (2 T2), step sharded: {spread('sharded')}; by CPU "
              f"time {statistics.median(figures['sharded_cpu']):.0%}",
              f"efficiency T1 / (2 T2), whole step: {spread('whole')}; by CPU time "
              f"{statistics.median(figures['whole_cpu']):.0%}",
              f"ceiling with communication free, T1 / (2 T_halves): {spread('ceiling')}",
              f"efficiency / ceiling, step sharded: {spread('of_ceiling')}; whole step: "
              f"{spread('whole_of_ceiling')}",
              "optimizer steps, CPU time of the busier process (median): " + ", ".join(
                  f"{label} {optimizer_cpu(rounds, setting):.2f} s" for setting, label in
                  ((1, "1 process"), (2, "sharded"), ("whole", "whole step"))),
              f"allreduce on 2 processes here: the gradient buffer ({latency['bytes']:,} "
              f"bytes) {latency['gradients_us']:.0f} us, two numbers "
              f"{latency['two_numbers_us']:.1f} us"]
    return "\n".join(lines)


def optimizer_cpu(rounds: list[dict[Any, dict[str, Any]]], setting: Any) -> float:
    """The median over rounds of the CPU time the busier process spent in optimizer
    steps, in one setting."""
    return statistics.median(max(rank.get("optimizer_cpu_s", 0.0)
                                 for rank in result[setting]["ranks"]) for result in rounds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=None,
                        help="train on the first N images (default: all)")
    parser.add_argument("--batch-size", type=int, default=WORKLOAD.batch_size,
                        help="the global batch (default: the workload's, 128)")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--whole-step", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--allreduce", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.samples, args.batch_size, args.whole_step)
    if args.allreduce:
        return allreduce(args.allreduce, repeats=200)
    me = [sys.executable, "-m", "benchmarks.mpi_scaling"]
    options = ["--batch-size", str(args.batch_size)]
    if args.samples:
        options += ["--samples", str(args.samples)]
    samples = args.samples or len(training_data(None)[0])
    rounds = []
    load_before = os.getloadavg()[0]
    order: tuple[Any, ...] = (1, 2, "whole", "halves")
    for number in range(args.rounds):
        result: dict[Any, dict[str, Any]] = {}
        for setting in order if number % 2 == 0 else order[::-1]:
            if setting == "halves":
                result[setting] = run_halves([*me, "--worker"], samples, args.batch_size)
            elif setting == "whole":
                result[setting] = run([*me, "--worker", "--whole-step", *options], 2)
            else:
                result[setting] = run([*me, "--worker", *options], setting)
        rounds.append(result)
    latency = run([*me, "--allreduce", str(rounds[0][1]["parameters"])], 2)
    print(summarize(rounds, latency, (load_before, os.getloadavg()[0])))
    if args.json is not None:
        args.json.write_text(json.dumps({"rounds": rounds, "allreduce": latency}, indent=1))


if __name__ == "__main__":
    main()
