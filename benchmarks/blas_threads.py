"""``python -m benchmarks.blas_threads``: training with nnframe's load-following BLAS
thread gate (``NNFRAME_BLAS_THREADS=auto``, opt-in) against the BLAS left alone
(``NNFRAME_BLAS_THREADS=keep``), at the BLAS's default threads.

Each round trains the mlp's network (784-256-128-10, relu, Adam, batch 128) on random
data for ``--batches`` batches in a fresh process per setting, the order alternating;
reported are the median CPU and wall seconds of the training (not the start-up). With
``--load N`` the benchmark first starts N busy-looping processes of its own (a load
generator), so that the same comparison runs on a loaded machine; ``--load 0`` measures the
machine as it is (say how busy it was: the CPU pressure is printed).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time

CODE = """
import json, time
import numpy as np
import nnframe
rng = np.random.default_rng(0)
x = rng.standard_normal(({samples}, 784)).astype(np.float32)
y = rng.integers(0, 10, {samples})
net = nnframe.Network([nnframe.layer("dense", 784, 256), nnframe.layer("relu"),
                       nnframe.layer("dense", 256, 128), nnframe.layer("relu"),
                       nnframe.layer("dense", 128, 10)]).use("cross_entropy", "adam")
net.build((784,), seed=0)
cpu, wall = time.process_time(), time.perf_counter()
net.fit(x, y, epochs=1, batch_size=128, verbose=0, shuffle=False)
print(json.dumps([time.process_time() - cpu, time.perf_counter() - wall]))
"""


def _spin() -> None:  # pragma: no cover - the load generator
    while True:
        pass


def _train(batches: int, keep: bool) -> tuple[float, float]:
    env = {**os.environ, "NNFRAME_BLAS_THREADS": "keep" if keep else "auto"}
    done = subprocess.run([sys.executable, "-c", CODE.format(samples=128 * batches)],
                          capture_output=True, text=True, check=True, env=env)
    cpu, wall = json.loads(done.stdout.splitlines()[-1])
    return cpu, wall


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.blas_threads",
                                     description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--load", type=int, default=os.cpu_count() or 1,
                        help="busy-looping processes to start first (default: one per core)")
    args = parser.parse_args(argv)
    from nnframe.speed.parallel import cpu_pressure

    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.load)]
    for spinner in spinners:
        spinner.start()
    try:
        time.sleep(2.0 if spinners else 0.0)
        pressure = cpu_pressure()
        runs: dict[str, list[tuple[float, float]]] = {"gate": [], "keep": []}
        for index in range(args.rounds):
            order = ("gate", "keep") if index % 2 == 0 else ("keep", "gate")
            for label in order:
                runs[label].append(_train(args.batches, keep=label == "keep"))
    finally:
        for spinner in spinners:
            spinner.terminate()
    print(f"{args.batches} mlp batches, load generator {args.load} processes, CPU pressure "
          f"{pressure if pressure is not None else 'unknown'}% at the start")
    for label, values in runs.items():
        cpu = [v[0] for v in values]
        wall = [v[1] for v in values]
        print(f"  {label:<5} CPU {statistics.median(cpu):6.2f} s ({min(cpu):.2f}-{max(cpu):.2f})"
              f"  wall {statistics.median(wall):6.2f} s ({min(wall):.2f}-{max(wall):.2f})")
    ratio = (statistics.median(v[1] for v in runs["gate"])
             / statistics.median(v[1] for v in runs["keep"]))
    print(f"  wall, gate / keep: {ratio:.2f}")


if __name__ == "__main__":
    main()
