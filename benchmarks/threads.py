"""Does nnframe's own splitting over threads pay here? ``python -m benchmarks.threads``.

Times each layer operation that `nnframe.speed.parallel` splits (relu, tanh, the dense bias, im2col,
col2im, max-pooling) and one Adam step, at the workloads' shapes, with nnframe's threads
set to 1 and to 2 in alternation (NumPy's BLAS keeps its own setting), and prints the median
of each with the ratio. The CPU-pressure gate is switched off, so that the split is
measured even on a busy machine: run it when the machine is otherwise idle (the pressure
is printed before and after), since on a machine whose cores are all taken a second
thread only waits.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np


def cases() -> dict[str, Callable[[], object]]:
    """Label -> a call of one split operation at a workload's shape."""
    import nnframe
    from nnframe.speed import blocked as kernels

    rng = np.random.default_rng(0)
    found: dict[str, Callable[[], object]] = {}

    def built(name: str, args: tuple, shape: tuple[int, ...], **config: object):
        layer = nnframe.layer(name, *args, **config)
        layer.build(shape[1:], rng, np.dtype(np.float32))
        return layer

    for shape in [(64, 26, 26, 8), (4096, 256), (128, 256)]:
        x = rng.standard_normal(shape).astype(np.float32)
        layer = built("relu", (), shape)
        layer.forward(x, True)
        found[f"relu forward {shape}"] = lambda layer=layer, x=x: layer.forward(x, True)
        found[f"relu backward {shape}"] = lambda layer=layer, x=x: layer.backward(x)
    x = rng.standard_normal((4096, 100)).astype(np.float32)
    tanh = built("tanh", (), x.shape)
    tanh.forward(x, True)
    found["tanh forward (4096, 100)"] = lambda: tanh.forward(x, True)
    found["tanh backward (4096, 100)"] = lambda: tanh.backward(x)
    inputs = rng.standard_normal((4096, 784)).astype(np.float32)
    dense = built("dense", (), inputs.shape, output_size=256)
    found["dense forward (4096, 784) -> 256"] = lambda: dense.forward(inputs)
    try:
        images = rng.random((64, 28, 28, 1), dtype=np.float32)
        conv1 = built("conv2d", (8, 3), images.shape)
        found["conv2d 1->8 forward, batch 64"] = lambda: conv1.forward(images, True)
        maps = rng.random((64, 13, 13, 8), dtype=np.float32)
        conv2 = built("conv2d", (16, 3), maps.shape)
        grad = rng.standard_normal(conv2.forward(maps, True).shape).astype(np.float32)
        found["conv2d 8->16 forward, batch 64"] = lambda: conv2.forward(maps, True)
        found["conv2d 8->16 backward, batch 64"] = lambda: conv2.backward(grad)
        pooled = rng.standard_normal((64, 26, 26, 8)).astype(np.float32)
        pool = built("maxpool2d", (2,), pooled.shape)
        pool_grad = rng.standard_normal(pool.forward(pooled, True).shape).astype(np.float32)
        found["maxpool2d forward, batch 64"] = lambda: pool.forward(pooled, True)
        found["maxpool2d backward, batch 64"] = lambda: pool.backward(pool_grad)
    except nnframe.UnknownComponentError:
        print("nnframe-conv is not installed: its layers are left out", file=sys.stderr)
    for size in (235_146, 2_000_000):
        p, g = (rng.standard_normal(size).astype(np.float32) for _ in range(2))
        m, v = np.zeros(size, np.float32), np.zeros(size, np.float32)
        found[f"adam step, {size:,} parameters"] = (
            lambda p=p, g=g, m=m, v=v: kernels.adam_step(p, g, m, v, lr=1e-3, beta1=0.9,
                                                         beta2=0.999, eps=1e-8, step=5))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.threads", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="alternations (default 5)")
    parser.add_argument("--repeats", type=int, default=20, help="calls per round (default 20)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    from nnframe.speed import parallel

    gate = parallel.BUSY_PRESSURE
    parallel.BUSY_PRESSURE = float("inf")  # measure the split itself, busy or not
    print(f"CPU pressure before: {parallel.cpu_pressure()}%")
    found = cases()
    times: dict[str, dict[int, list[float]]] = {label: {1: [], 2: []} for label in found}
    try:
        for round_index in range(args.rounds):
            for label, call in found.items():
                for threads in (1, 2) if round_index % 2 == 0 else (2, 1):
                    parallel.set_num_threads(threads)
                    call()
                    for _ in range(args.repeats):
                        start = time.perf_counter()
                        call()
                        times[label][threads].append(time.perf_counter() - start)
    finally:
        parallel.set_num_threads(None)
        parallel.BUSY_PRESSURE = gate
    width = max(len(label) for label in found)
    for label, by_threads in times.items():
        one, two = (statistics.median(by_threads[t]) * 1e6 for t in (1, 2))
        print(f"{label:<{width}}  1 thread {one:10.1f} us  2 threads {two:10.1f} us  "
              f"2/1 {two / one:.2f}")
    print(f"CPU pressure after: {parallel.cpu_pressure()}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
