"""One training epoch of the SPEC 8 `cnn` workload in nnframe and in PyTorch (CPU), one
after the other in one run: conv 3x3 1->8, relu, maxpool 2, conv 3x3 8->16, relu, maxpool 2,
flatten, dense 400->10, softmax cross-entropy, Adam 1e-3, batch 64, on the 60,000 MNIST
training images. Prints both seconds per epoch and the ratio nnframe / torch.

Both frameworks get the same number of threads (``--threads``, default 1): BLAS and OpenMP
read their thread count when they load, so the script re-runs itself once with
OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and MKL_NUM_THREADS set. With ``--repeats N`` the
frameworks alternate N times and the best epoch of each counts (the least disturbed by
other work on the machine); every time is printed.

Run: pip install ./plugins/nnframe-conv torch
     NNFRAME_DATA_DIR=../shared/data python benchmarks/cnn_vs_torch.py [--threads 1]

PyTorch is needed by this script only, never by nnframe or its tests. The functions below
build and time the workload without side effects at import, for benchmark suites.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import numpy as np

BATCH_SIZE = 64
LEARNING_RATE = 1e-3
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def load_mnist(limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Training images (N, 28, 28, 1) float32 in [0, 1] and integer labels (N,)."""
    from nnframe.datasets import mnist

    images, labels = mnist("train")
    return (images, labels) if limit is None else (images[:limit], labels[:limit])


def build_nnframe(seed: int = 0) -> Any:
    """The cnn workload as an nnframe Network, built for (28, 28, 1), with loss and Adam."""
    import nnframe

    layer = nnframe.layer
    net = nnframe.Network([
        layer("conv2d", 8, 3), layer("relu"), layer("maxpool2d", 2),
        layer("conv2d", 16, 3), layer("relu"), layer("maxpool2d", 2),
        layer("flatten"), layer("dense", 400, 10),
    ])
    net.use("cross_entropy", nnframe.optimizer("adam", learning_rate=LEARNING_RATE))
    return net.build((28, 28, 1), seed=seed)


def time_nnframe_epoch(net: Any, x: np.ndarray, y: np.ndarray, seed: int = 0) -> float:
    """Seconds for one shuffled epoch of ``net.fit`` at batch 64."""
    start = time.perf_counter()
    net.fit(x, y, epochs=1, batch_size=BATCH_SIZE, seed=seed, verbose=0)
    return time.perf_counter() - start


def build_torch(seed: int = 0) -> tuple[Any, Any, Any]:
    """The same network in PyTorch (NCHW), its Adam optimizer and cross-entropy loss."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 10),
    )
    return model, torch.optim.Adam(model.parameters(), lr=LEARNING_RATE), nn.CrossEntropyLoss()


def time_torch_epoch(model: Any, optimizer: Any, loss_fn: Any, x: np.ndarray, y: np.ndarray,
                     seed: int = 0) -> float:
    """Seconds for one shuffled epoch of the usual PyTorch loop at batch 64 (the images are
    converted to NCHW tensors before the clock starts)."""
    import torch

    images = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    labels = torch.from_numpy(y)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    start = time.perf_counter()
    order = torch.randperm(len(images), generator=generator)
    for begin in range(0, len(images), BATCH_SIZE):
        index = order[begin:begin + BATCH_SIZE]
        optimizer.zero_grad()
        loss_fn(model(images[index]), labels[index]).backward()
        optimizer.step()
    return time.perf_counter() - start


def count_torch_parameters(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def set_threads(threads: int, argv: list[str]) -> None:
    """Re-run this script with the thread variables set, unless they already are."""
    wanted = str(threads)
    if all(os.environ.get(name) == wanted for name in THREAD_VARIABLES):
        return
    env = {**os.environ, **dict.fromkeys(THREAD_VARIABLES, wanted)}
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *argv], env)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for both frameworks (default 1)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="alternate the two epochs this many times; the best counts")
    parser.add_argument("--train-samples", type=int, default=None,
                        help="time on the first N images only (default: all 60,000)")
    args = parser.parse_args(argv)
    set_threads(args.threads, argv)
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: pip install torch (the benchmark only needs it)",
              file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)

    x, y = load_mnist(args.train_samples)
    times: dict[str, list[float]] = {"nnframe": [], "torch": []}
    for repeat in range(args.repeats):
        net = build_nnframe(seed=repeat)
        times["nnframe"].append(time_nnframe_epoch(net, x, y, seed=repeat))
        model, optimizer, loss_fn = build_torch(seed=repeat)
        times["torch"].append(time_torch_epoch(model, optimizer, loss_fn, x, y, seed=repeat))
    assert net.count_params() == count_torch_parameters(model)  # the same network

    print(f"cnn workload, one epoch of {len(x):,} images, batch {BATCH_SIZE}, "
          f"{args.threads} thread(s), torch {torch.__version__}, numpy {np.__version__}")
    for name, values in times.items():
        shown = ", ".join(f"{t:.2f}" for t in values)
        print(f"{name:>8}: {min(values):6.2f} s/epoch (runs: {shown})")
    print(f"   ratio: {min(times['nnframe']) / min(times['torch']):.2f}x "
          "(nnframe / torch; target <= 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
