"""The reference `seq-mnist-transformer` workload trained for several epochs in nnframe and
in PyTorch (CPU) from the one definition in `benchmarks.workloads`: test accuracy after
each epoch, and seconds (wall and CPU) per epoch, the frameworks interleaved epoch by
epoch so that both see the same load.

Run: pip install ./plugins/nnframe-attention torch threadpoolctl
     NNFRAME_DATA_DIR=~/data python benchmarks/seq_mnist_transformer.py [--epochs 2]
     [--threads 1] [--seed 0]

The seconds per epoch at 1 and 2 threads, interleaved over rounds, come from the suite:
``python -m benchmarks --workloads seq-mnist-transformer``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `benchmarks`, as a script

from benchmarks import workloads

WORKLOAD = workloads.WORKLOADS["seq-mnist-transformer"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    import os

    os.environ["NNFRAME_NUM_THREADS"] = str(args.threads)
    import torch

    from benchmarks.frameworks import NNFrameRunner, TorchRunner
    from nnframe.datasets import mnist

    torch.set_num_threads(args.threads)
    x, y = mnist("train")
    x_test, y_test = mnist("test")
    x, x_test = x.reshape(len(x), 28, 28), x_test.reshape(len(x_test), 28, 28)
    runners = [NNFrameRunner(WORKLOAD, args.seed, x, y),
               TorchRunner(WORKLOAD, args.seed, x, y)]
    print(f"seq-mnist-transformer, {args.threads} thread(s), seed {args.seed}, "
          f"{runners[0].count_parameters():,} parameters in both")
    for epoch in range(1, args.epochs + 1):
        for runner in runners if epoch % 2 else runners[::-1]:
            wall, cpu = time.perf_counter(), time.process_time()
            runner.train_epoch()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            accuracy = float(np.mean(np.argmax(runner.predict(x_test), axis=1) == y_test))
            print(f"epoch {epoch} {runner.name:8s} test accuracy {accuracy:.4f}  "
                  f"{wall:6.1f} s wall  {cpu:6.1f} s CPU", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
