"""What the tracking callbacks cost: ``python -m benchmarks.tracking_overhead``.

Trains the mlp workload (784-256-relu-128-relu-10, cross-entropy, Adam 1e-3, batch 128,
the 60,000 MNIST training images, 10% held out for validation) for ``--epochs`` epochs
with no tracker, with ``tensorboard``, with ``mlflow`` (a SQLite store in a temporary
folder) and with both, at their default logging frequency (every epoch), in interleaved
rounds whose order rotates, all in this process.

Two figures per tracker: the time spent inside its hooks per epoch (wall and CPU), over
the median epoch time (the overhead itself, measured directly), and the median epoch time
beside the untracked runs' of the same round (which also catches costs outside the hooks, but moves
with the machine's load by more than the overhead). Start-up (importing the library,
creating the MLflow database) and the model artifact at the end are paid once per run,
not per epoch; they are reported apart. Needs the tensorboard and mlflow extras.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.mpi_scaling import training_data
from benchmarks.workloads import WORKLOADS, build_nnframe

SETUPS = ("none", "tensorboard", "mlflow", "both")
ONCE = ("on_train_begin", "on_train_end")  # paid once per run, not per epoch


class Timed:
    """A callback wrapped so that the time spent in each of its hooks is added up."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds: dict[str, float] = {}  #: wall time in each hook
        self.cpu: dict[str, float] = {}  #: CPU time in each hook

    def __getattr__(self, name: str) -> Any:
        hook = getattr(self.inner, name)
        if not name.startswith("on_"):
            return hook

        def timed(*args: Any) -> None:
            start, cpu = time.perf_counter(), time.process_time()
            try:
                hook(*args)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
                self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu

        return timed


class EpochClock:
    """Wall and CPU time of every epoch: from the first callback's on_epoch_begin to the
    last one's on_epoch_end, so the trackers' hooks between them are inside."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def begin(self) -> None:
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def end(self) -> None:
        self.wall.append(time.perf_counter() - self._wall)
        self.cpu.append(time.process_time() - self._cpu)


def run(setup: str, x: Any, y: Any, epochs: int, folder: Path, round_: int) -> dict[str, Any]:
    import nnframe

    clock = EpochClock()

    class Begin(nnframe.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict) -> None:
            clock.begin()

    class End(nnframe.Callback):
        def on_epoch_end(self, epoch: int, logs: dict) -> None:
            clock.end()

    trackers = []
    if setup in ("tensorboard", "both"):
        trackers.append(Timed(nnframe.TensorBoard(folder / f"tb-{round_}")))
    if setup in ("mlflow", "both"):
        trackers.append(Timed(nnframe.MLflowLogger(folder / "mlflow",
                                                   experiment=f"round-{round_}")))
    network = build_nnframe(WORKLOADS["mlp"], seed=round_)
    start = time.perf_counter()
    network.fit(x, y, epochs=epochs, batch_size=128, seed=round_, validation_split=0.1,
                verbose=0, callbacks=[Begin(), *trackers, End()])
    total = time.perf_counter() - start
    per_epoch = sum(seconds for t in trackers for hook, seconds in t.seconds.items()
                    if hook not in ONCE) / epochs
    cpu_per_epoch = sum(seconds for t in trackers for hook, seconds in t.cpu.items()
                        if hook not in ONCE) / epochs
    once = sum(t.seconds.get("on_train_begin", 0.0) + t.seconds.get("on_train_end", 0.0)
               for t in trackers)
    return {"epoch_wall": statistics.median(clock.wall), "epoch_cpu": statistics.median(
        clock.cpu), "hooks_per_epoch": per_epoch, "hooks_cpu_per_epoch": cpu_per_epoch,
        "once": once, "total": total}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tracking_overhead",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=None,
                        help="train on the first N images (default all 60,000)")
    args = parser.parse_args(argv)
    x, y, data = training_data(args.samples)
    print(f"mlp, {len(x):,} images of {data}, {args.epochs} epochs per run, "
          f"{args.rounds} rounds; load average before: {os.getloadavg()}")
    results: dict[str, list[dict[str, Any]]] = {setup: [] for setup in SETUPS}
    with tempfile.TemporaryDirectory(prefix="nnframe-tracking-bench-") as temp:
        for round_ in range(args.rounds):
            order = SETUPS[round_ % len(SETUPS):] + SETUPS[:round_ % len(SETUPS)]
            for setup in order:
                results[setup].append(run(setup, x, y, args.epochs, Path(temp), round_))
    base = [r["epoch_wall"] for r in results["none"]]
    print(f"{'tracker':<12} {'epoch wall':>10} {'epoch cpu':>10} {'hooks wall':>10} "
          f"{'hooks cpu':>9} {'wall share':>10} {'cpu share':>9} {'epoch ratio':>11} "
          f"{'once':>7}")
    for setup in SETUPS:
        rows = results[setup]
        wall = statistics.median(r["epoch_wall"] for r in rows)
        cpu = statistics.median(r["epoch_cpu"] for r in rows)
        hooks = statistics.median(r["hooks_per_epoch"] for r in rows)
        hooks_cpu = statistics.median(r["hooks_cpu_per_epoch"] for r in rows)
        ratio = statistics.median(r["epoch_wall"] / b for r, b in zip(rows, base, strict=True))
        once = statistics.median(r["once"] for r in rows)
        print(f"{setup:<12} {wall:>9.3f}s {cpu:>9.3f}s {hooks * 1000:>8.2f}ms "
              f"{hooks_cpu * 1000:>7.2f}ms {hooks / wall:>10.3%} {hooks_cpu / cpu:>9.3%} "
              f"{ratio:>11.3f} {once:>6.2f}s")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
