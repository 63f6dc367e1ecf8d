"""One optimizer step over a whole network's parameters: nnframe's optimizers against
PyTorch's Adam, fused (its best CPU setting), multi-tensor (foreach) and default.

The parameters are those of dense networks: ``235k`` is the mlp workload's 784-256-128-10
(235,146 parameters), ``20M`` a 1000-4000-4000 stack (20,008,000), where a step crosses
main memory. Gradients are random and fixed; each process times one framework at one
size and thread count, cycling through its optimizers so that each sees the same
disturbances, and reports the median wall and CPU time of a step.
"""

from __future__ import annotations

import itertools
import statistics
import time
from typing import Any

#: Dense layer widths of each size: input, then each layer's output.
SIZES: dict[str, tuple[int, ...]] = {"235k": (784, 256, 128, 10), "20M": (1000, 4000, 4000)}
#: nnframe optimizers timed: label -> (registered name, arguments besides the rate).
NNFRAME_OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "adam": ("adam", {}),
    "adamw": ("adamw", {"weight_decay": 0.01}),
    "rmsprop": ("rmsprop", {}),
    "sgd-momentum": ("sgd", {"momentum": 0.9}),
}
#: PyTorch's Adam in each setting (see benchmarks.workloads.torch_optimizer).
TORCH_SETTINGS = ("fused", "foreach", "default")
LEARNING_RATE = 1e-3


def parameter_count(size: str) -> int:
    widths = SIZES[size]
    return sum((a + 1) * b for a, b in itertools.pairwise(widths))


def measure_steps(request: dict[str, Any]) -> dict[str, Any]:
    """Time optimizer steps as ``request`` says: framework, size, threads, repeats."""
    from benchmarks.measure import limit_threads

    framework, size, threads = request["framework"], request["size"], int(request["threads"])
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
    limit_threads(threads)
    steps = _torch_steps(size) if framework == "torch" else _nnframe_steps(size)
    per_sample = max(1, int(request.get("steps_per_sample") or _steps_per_sample(size)))
    timings: dict[str, list[tuple[float, float]]] = {label: [] for label in steps}
    for step in steps.values():  # warm up: state allocated, threads started
        step()
        step()
    for _ in range(int(request.get("repeats", 7))):
        for label, step in steps.items():
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(per_sample):
                step()
            timings[label].append(((time.perf_counter() - wall) / per_sample,
                                   (time.process_time() - cpu) / per_sample))
    return {
        "kind": "steps", "framework": framework, "size": size, "threads": threads,
        "parameters": parameter_count(size),
        "optimizers": {label: {"wall_s": statistics.median(t[0] for t in runs),
                               "cpu_s": statistics.median(t[1] for t in runs),
                               "wall_runs": [t[0] for t in runs]}
                       for label, runs in timings.items()},
    }


def _steps_per_sample(size: str) -> int:
    return max(1, 5_000_000 // parameter_count(size))


def _nnframe_steps(size: str) -> dict[str, Any]:
    """A step function per nnframe optimizer, each on its own network of that size."""
    import numpy as np

    import nnframe

    widths = SIZES[size]
    steps = {}
    for label, (name, options) in NNFRAME_OPTIMIZERS.items():
        net = nnframe.Network([nnframe.layer("dense", output_size=w) for w in widths[1:]])
        net.build((widths[0],), seed=0)
        rng = np.random.default_rng(1)
        for parameter in net.parameters():
            parameter.grad[...] = rng.standard_normal(parameter.grad.shape) * 1e-2
        optimizer = nnframe.optimizer(name, learning_rate=LEARNING_RATE, **options)
        steps[label] = _bound_step(net, optimizer)
    return steps


def _bound_step(net: Any, optimizer: Any) -> Any:
    """``optimizer.step`` on what `Network.fit` hands it: the network's parameter group
    (every parameter in one buffer, every gradient in another)."""
    parameters = net.parameters()
    return lambda: optimizer.step(parameters)


def _torch_steps(size: str) -> dict[str, Any]:
    """A step function per setting of torch.optim.Adam, on nn.Linear-shaped tensors."""
    import torch

    from benchmarks.workloads import torch_optimizer

    widths = SIZES[size]
    generator = torch.Generator().manual_seed(1)
    steps = {}
    for setting in TORCH_SETTINGS:
        parameters = []
        for a, b in itertools.pairwise(widths):
            for shape in ((b, a), (b,)):
                p = torch.nn.Parameter(torch.randn(shape, generator=generator))
                p.grad = torch.randn(shape, generator=generator) * 1e-2
                parameters.append(p)
        optimizer = torch_optimizer("adam", parameters, LEARNING_RATE, setting)
        steps[f"torch adam ({setting})"] = optimizer.step
    return steps
