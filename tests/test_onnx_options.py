"""The ONNX converters of the layers' options and the new layers: onnxruntime equal to
`Network.predict` (compared as in test_onnx.py), at opset 17 and 18."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import nnframe
from tests.test_onnx import assert_exports_faithfully, built
from tests.test_onnx_normalization import with_statistics

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed")

import nnframe.onnx  # noqa: E402

L = nnframe.layer
NEW_CONVERTERS = ["log_softmax", "silu", "elu", "softplus", "hard_sigmoid"]


@pytest.mark.parametrize(("layers", "input_shape"), [
    pytest.param(lambda: [L("dense", output_size=3, use_bias=False)], (4,), id="dense-no-bias"),
    pytest.param(lambda: [L("dense", output_size=3, use_bias=False)], (2, 4),
                 id="dense-no-bias-3d"),
    pytest.param(lambda: [L("softmax", axis=1)], (3, 4), id="softmax-axis-1"),
    pytest.param(lambda: [L("dense", output_size=4), L("log_softmax")], (5,),
                 id="log_softmax"),
    pytest.param(lambda: [L("log_softmax", axis=-2)], (3, 4), id="log_softmax-axis"),
    pytest.param(lambda: [L("dense", output_size=6), L("silu"), L("elu", alpha=0.5),
                          L("hard_sigmoid")], (5,), id="silu-elu-hard_sigmoid"),
    pytest.param(lambda: [L("dense", output_size=6), L("softplus")], (5,), id="softplus"),
    pytest.param(lambda: [L("dense", output_size=6), L("softplus", beta=2.0, threshold=1.0)],
                 (5,), id="softplus-beta-threshold"),
    pytest.param(lambda: [L("batch_norm", affine=False)], (4, 3), id="batch_norm-no-affine"),
    pytest.param(lambda: [L("batch_norm", momentum=None)], (6,), id="batch_norm-cumulative"),
    pytest.param(lambda: [L("layer_norm", axes=2)], (3, 4), id="layer_norm-two-axes"),
    pytest.param(lambda: [L("layer_norm", axes=2, elementwise_affine=False)], (2, 3, 4),
                 id="layer_norm-two-axes-no-affine"),
    pytest.param(lambda: [L("layer_norm", elementwise_affine=False)], (5,),
                 id="layer_norm-no-affine"),
])
@pytest.mark.parametrize("opset", [17, 18])
def test_options_export_faithfully(layers, input_shape, opset, monkeypatch):
    network = with_statistics(built(layers(), input_shape))
    monkeypatch.setattr(nnframe.onnx, "to_model", _at_opset(nnframe.onnx.to_model, opset))
    assert_exports_faithfully(network)


@pytest.mark.parametrize("opset", [17, 18])
@pytest.mark.parametrize("input_shape", [(5,), (3, 2, 4)])
def test_batch_norm_without_running_statistics_normalises_each_batch(input_shape, opset,
                                                                     monkeypatch):
    """The layer normalises with the batch's statistics at inference too, and so does the
    graph: compared batch by batch, as predict sees them."""
    network = built([L("batch_norm", track_running_stats=False, affine=False),
                     L("dense", output_size=3)], input_shape)
    monkeypatch.setattr(nnframe.onnx, "to_model", _at_opset(nnframe.onnx.to_model, opset))
    x = np.random.default_rng(2).normal(1.0, 3.0, (64, *input_shape)).astype(np.float32)
    assert_exports_faithfully(network, x, batch_sizes=(2, 7, 64))


def _at_opset(to_model, opset):
    def export(network, **kwargs):
        return to_model(network, opset=opset, **kwargs)

    return export


def test_nnframe_check_passes_the_new_converters():
    checked = subprocess.run([sys.executable, "-m", "nnframe", "check", *NEW_CONVERTERS],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
