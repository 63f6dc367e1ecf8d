"""The cnn workload scripts of the repository: examples/mnist_cnn.py learns, and the
benchmark's workload builder imports without side effects and builds the reference `cnn` network."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nnframe.summary import summary_rows

pytest.importorskip(
    "nnframe_conv", reason="nnframe-conv is not installed: `pip install ./plugins/nnframe-conv` "
    "or run `nox -s tests`")

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "mnist_cnn.py"
BENCHMARK = ROOT / "benchmarks" / "cnn_vs_torch.py"


def mnist_dir() -> Path | None:
    """NNFRAME_DATA_DIR, else the data folder CI keeps beside the checkout, if it holds MNIST."""
    env = os.environ.get("NNFRAME_DATA_DIR")
    for candidate in [Path(env)] if env else [ROOT.parent / "shared" / "data"]:
        if (candidate / "mnist" / "train-images-idx3-ubyte.gz").exists():
            return candidate
    return None


pytestmark = pytest.mark.skipif(not EXAMPLE.exists(), reason="not run from a source checkout")


@pytest.mark.mnist
@pytest.mark.skipif(mnist_dir() is None, reason="real MNIST not found: set NNFRAME_DATA_DIR")
def test_mnist_cnn_example_learns_on_a_subset():
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--epochs", "2", "--train-samples", "6000"],
        capture_output=True, text=True, timeout=600,
        # one BLAS thread: these small products only lose to thread hand-offs, badly so
        # on a machine shared with other work
        env={**os.environ, "NNFRAME_DATA_DIR": str(mnist_dir()), "OPENBLAS_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr
    accuracy = float(re.search(r"test accuracy ([\d.]+)%", result.stdout).group(1))
    assert accuracy > 85.0, result.stdout


def test_benchmark_workload_builds_the_spec_network_without_torch():
    spec = importlib.util.spec_from_file_location("cnn_vs_torch_under_test", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # importing runs nothing and needs no torch
    net = module.build_nnframe(seed=0)
    assert net.output_shape == (10,)
    # conv 1->8 (80) + conv 8->16 (1,168) + dense 400->10 (4,010), as in PyTorch
    assert net.count_params() == 80 + 1168 + 4010
    assert [row.name for row in summary_rows(net)] == [
        "conv2d", "relu", "maxpool2d", "conv2d", "relu", "maxpool2d", "flatten", "dense"]
