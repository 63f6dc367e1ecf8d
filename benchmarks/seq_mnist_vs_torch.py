"""The seq-mnist workload in nnframe and in PyTorch (CPU): seconds per epoch and test accuracy.

Each MNIST image is read as 28 time steps of 28 pixels; lstm 128, dense 128->10, softmax
cross-entropy from logits, Adam 1e-3 (PyTorch's fused Adam), batch 128, the 60,000 training
images scaled to [0, 1], tested on the 10,000 test images. Both start from the same scheme:
the LSTM's weights and biases from U(-1/sqrt(128), 1/sqrt(128)) (PyTorch's default, which
nnframe-recurrent follows), the dense layer Glorot-uniform with a zero bias (nnframe's
default, set on PyTorch's side). Every (framework, threads) run is a process of its own,
with BLAS and OpenMP limited to that many threads; runs alternate between the frameworks.

Run: pip install ./plugins/nnframe-recurrent torch threadpoolctl
     NNFRAME_DATA_DIR=~/data python benchmarks/seq_mnist_vs_torch.py \
         [--threads 1,2] [--epochs 2] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

FRAMEWORKS = ("nnframe", "torch")
BATCH_SIZE = 128
UNITS = 128


def load_mnist():
    """(x_train, y_train, x_test, y_test): images as (N, 28, 28) float32 in [0, 1]."""
    from nnframe.datasets import mnist

    x_train, y_train = mnist("train")
    x_test, y_test = mnist("test")
    return x_train[..., 0], y_train, x_test[..., 0], y_test


def run_nnframe(epochs: int, seed: int) -> dict:
    import nnframe

    x_train, y_train, x_test, y_test = load_mnist()
    net = nnframe.Network([nnframe.layer("lstm", UNITS),
                           nnframe.layer("dense", output_size=10)])
    net.use("cross_entropy", nnframe.optimizer("adam", learning_rate=1e-3))
    clock = EpochClock()

    class Timer(nnframe.Callback):
        def on_epoch_begin(self, epoch, logs):
            clock.begin()

        def on_epoch_end(self, epoch, logs):
            clock.end()

    net.fit(x_train, y_train, epochs=epochs, batch_size=BATCH_SIZE, seed=seed, verbose=0,
            callbacks=[Timer()])
    return clock.result(net.evaluate(x_test, y_test)["accuracy"])


def run_torch(epochs: int, seed: int, threads: int) -> dict:
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    x_train, y_train, x_test, y_test = (torch.from_numpy(np.ascontiguousarray(a))
                                        for a in load_mnist())
    lstm = torch.nn.LSTM(28, UNITS, batch_first=True)
    dense = torch.nn.Linear(UNITS, 10)
    torch.nn.init.xavier_uniform_(dense.weight)
    torch.nn.init.zeros_(dense.bias)
    parameters = [*lstm.parameters(), *dense.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=1e-3, fused=True)
    generator = torch.Generator().manual_seed(seed)
    clock = EpochClock()
    for _ in range(epochs):
        clock.begin()
        order = torch.randperm(len(x_train), generator=generator)
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start:start + BATCH_SIZE]
            logits = dense(lstm(x_train[batch])[0][:, -1])
            loss = torch.nn.functional.cross_entropy(logits, y_train[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        clock.end()
    with torch.no_grad():
        correct = sum(int((dense(lstm(x_test[i:i + 4096])[0][:, -1]).argmax(1)
                           == y_test[i:i + 4096]).sum()) for i in range(0, len(x_test), 4096))
    return clock.result(correct / len(x_test))


class EpochClock:
    """Wall and CPU seconds of each epoch."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def begin(self) -> None:
        self._start = (time.perf_counter(), time.process_time())

    def end(self) -> None:
        self.wall.append(time.perf_counter() - self._start[0])
        self.cpu.append(time.process_time() - self._start[1])

    def result(self, accuracy: float) -> dict:
        return {"epoch_wall": self.wall, "epoch_cpu": self.cpu, "accuracy": accuracy}


def child(framework: str, threads: int, epochs: int, seed: int) -> None:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(threads):
        result = (run_nnframe(epochs, seed) if framework == "nnframe"
                  else run_torch(epochs, seed, threads))
    print(json.dumps({"framework": framework, "threads": threads, **result}))


def spawn(framework: str, threads: int, epochs: int, seed: int) -> dict:
    env = {**os.environ, **{name: str(threads) for name in (
        "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}}
    command = [sys.executable, __file__, "--child", framework, "--threads", str(threads),
               "--epochs", str(epochs), "--seed", str(seed)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", default="1,2", help="comma list (default 1,2)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="runs of each, alternating")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, int(args.threads), args.epochs, args.seed)
        return 0
    results = []
    for round_ in range(args.rounds):
        for threads in (int(t) for t in args.threads.split(",")):
            for framework in FRAMEWORKS:
                result = spawn(framework, threads, args.epochs, args.seed + round_)
                results.append(result)
                print(f"{framework:8s} {threads} thread(s): epochs "
                      + ", ".join(f"{w:.1f}s (cpu {c:.1f}s)" for w, c in
                                  zip(result["epoch_wall"], result["epoch_cpu"], strict=True))
                      + f"; test accuracy {100 * result['accuracy']:.2f}%", flush=True)
    print(f"\nseconds per epoch over {args.rounds} round(s), {args.epochs} epochs each")
    for threads in sorted({r["threads"] for r in results}):
        rows = {f: [r for r in results if r["framework"] == f and r["threads"] == threads]
                for f in FRAMEWORKS}
        wall = {f: mean([w for r in rs for w in r["epoch_wall"]]) for f, rs in rows.items()}
        cpu = {f: mean([c for r in rs for c in r["epoch_cpu"]]) for f, rs in rows.items()}
        accuracy = {f: mean([100 * r["accuracy"] for r in rs]) for f, rs in rows.items()}
        print(f"{threads} thread(s): nnframe {wall['nnframe']:.1f}s (cpu {cpu['nnframe']:.1f}s, "
              f"{accuracy['nnframe']:.2f}%), torch {wall['torch']:.1f}s (cpu "
              f"{cpu['torch']:.1f}s, {accuracy['torch']:.2f}%); nnframe/torch wall "
              f"{wall['nnframe'] / wall['torch']:.2f}x, cpu {cpu['nnframe'] / cpu['torch']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
