"""nnframe's benchmark suite: the reference workloads in nnframe, PyTorch (CPU) and scikit-learn.

Run it with ``nox -s bench`` (or ``python -m benchmarks --help`` in an environment that has
nnframe, its plugins, torch, scikit-learn, matplotlib and threadpoolctl). docs/performance.md
shows the latest full run and explains the method.

Modules: `workloads` (the one place each workload is defined and built, for every
framework), `measure` (one timed epoch in a fresh process), `machine` (CPU, BLAS, GEMM rate,
FLOPs), `startup` (CLI start-up time and lazy plugin loading), `report` (table, JSON, chart,
docs) and `__main__` (the rounds).
"""
