"""The reference `cnn` workload alone: one epoch in nnframe and in PyTorch (CPU), through the
benchmark suite (``python -m benchmarks --workloads cnn``), which defines the workload once
in `benchmarks.workloads`: conv 3x3 1->8, relu, maxpool 2, conv 3x3 8->16, relu, maxpool 2,
flatten, dense 400->10, softmax cross-entropy, Adam 1e-3, batch 64.

Run: pip install ./plugins/nnframe-conv torch threadpoolctl matplotlib
     NNFRAME_DATA_DIR=~/data python benchmarks/cnn_vs_torch.py [--threads 1] [--rounds 3]

Any option of ``python -m benchmarks`` works (see its ``--help``); the docs are not rewritten.
`build_nnframe` and `build_torch` build the workload without side effects at import and
without torch for nnframe.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `benchmarks`, as a script

from benchmarks import workloads

CNN = workloads.WORKLOADS["cnn"]


def build_nnframe(seed: int = 0) -> Any:
    """The cnn workload as a built nnframe Network for (28, 28, 1), with loss and Adam."""
    return workloads.build_nnframe(CNN, seed)


def build_torch(seed: int = 0) -> tuple[Any, Any, Any]:
    """The same network in PyTorch (NCHW), its Adam optimizer and cross-entropy loss."""
    return workloads.build_torch(CNN, seed)


def main(argv: list[str] | None = None) -> int:
    from benchmarks.__main__ import main as suite

    argv = sys.argv[1:] if argv is None else argv
    return suite(["--workloads", "cnn", "--frameworks", "nnframe,torch", "--no-docs",
                  "--no-startup", *argv])


if __name__ == "__main__":
    sys.exit(main())
