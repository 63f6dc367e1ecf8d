"""The benchmark suite's own arithmetic: one workload definition, FLOPs, targets.

The measurements themselves need torch and scikit-learn and run in ``nox -s bench``.
"""

from __future__ import annotations

import pytest

from benchmarks import report
from benchmarks.workloads import WORKLOADS, build_nnframe, count_parameters, matmul_flops


@pytest.mark.parametrize("name", ["seed-mlp", "mlp"])
def test_nnframe_builds_the_workload_it_describes(name):
    net = build_nnframe(WORKLOADS[name], seed=0)
    assert net.count_params() == count_parameters(WORKLOADS[name])
    assert net.output_shape == (10,)


def test_parameter_counts_and_flops_by_hand():
    assert count_parameters(WORKLOADS["mlp"]) == 785 * 256 + 257 * 128 + 129 * 10
    assert count_parameters(WORKLOADS["cnn"]) == 80 + 1168 + 4010
    macs = 784 * 256 + 256 * 128 + 128 * 10
    # forward, weight gradients, and input gradients for all but the first dense layer
    assert matmul_flops(WORKLOADS["mlp"], 100) == 2 * 100 * (3 * macs - 784 * 256)
    assert matmul_flops(WORKLOADS["mlp"], 100, training=False) == 2 * 100 * macs
    conv1, conv2 = 26 * 26 * 9 * 8, 11 * 11 * 72 * 16
    assert matmul_flops(WORKLOADS["cnn"], 1, training=False) == 2 * (conv1 + conv2 + 4000)


def summary(ours: float, torch: float, sklearn: float, peak_mb: float) -> dict:
    def stats(epoch, peak=0.0):
        return {"epoch_s": {"median": epoch}, "peak_mb": {"median": peak}}

    return {"mlp": {"train_samples": 60_000,
                    "frameworks": {"nnframe": stats(ours, peak_mb), "torch": stats(torch),
                                   "sklearn": stats(sklearn)},
                    "ratios": {"torch": {"inference": 0.8}}}}


def test_targets_compare_with_the_faster_peer_and_the_memory_limit():
    found = {t["target"].split(" (")[0]: t
             for t in report.targets(summary(0.95, 1.2, 1.0, 300))}
    mlp = found["mlp epoch / faster of PyTorch and scikit-learn"]
    assert mlp["value"] == pytest.approx(0.95) and mlp["holds"] is False  # vs sklearn's 1.0
    assert found["mlp inference"]["holds"] is True
    memory = found["mlp epoch peak memory"]
    assert memory["limit"] == pytest.approx(2 * 60_000 * 784 * 4 / 2**20 + 100)
    assert memory["holds"] is True
    assert found["cnn epoch / PyTorch"]["holds"] is None  # not measured: neither yes nor no
    faster = {t["target"].split(" (")[0]: t for t in report.targets(summary(0.8, 1.2, 1.0, 600))}
    assert faster["mlp epoch / faster of PyTorch and scikit-learn"]["holds"] is True
    assert faster["mlp epoch peak memory"]["holds"] is False
