"""nnframe-numba: its kernels pass nnframe's kit, are chosen over the references, train
the same model, cache where they should and cost nothing until first used."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from nnframe_numba import optimizers as fused

import nnframe
from nnframe.speed import blocked as reference
from nnframe.speed import kernels
from nnframe.testing import check_distribution, check_kernel

NAMES = ("adam_step", "adamw_step", "sgd_step", "rmsprop_step")
#: the layer kernels it registers where nnframe-conv and nnframe-recurrent are installed
LAYER_NAMES = ("maxpool2d_backward", "im2col", "col2im", "lstm_forward_gates",
               "lstm_backward_gates", "gru_forward_gates", "gru_backward_gates")


def test_every_kernel_passes_the_kit():
    reports = check_distribution("nnframe-numba")
    assert sorted(r.component for r in reports) == sorted(f"nnframe-numba:{n}"
                                                         for n in (*NAMES, *LAYER_NAMES))
    assert all(r.passed for r in reports), [r for r in reports if not r.passed]
    assert all(len(r.properties) >= 3 for r in reports)


@pytest.mark.parametrize("name", NAMES)
def test_nnframe_chooses_the_compiled_kernel(name):
    assert nnframe.kernel(name) is getattr(fused, name)
    (choice,) = kernels.choices((name,))
    assert (choice.provider, choice.reason) == ("nnframe-numba", "checked")


def test_reference_mode_keeps_to_numpy(monkeypatch):
    monkeypatch.setenv(kernels.KERNELS_ENV, "reference")
    assert nnframe.kernel("adam_step") is reference.adam_step


@pytest.mark.parametrize("optimizer", [
    {"type": "adam"}, {"type": "adamw", "weight_decay": 0.1},
    {"type": "sgd", "momentum": 0.9, "nesterov": True}, {"type": "rmsprop", "momentum": 0.5}])
def test_training_gives_the_model_of_the_references(optimizer):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 8)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    models = []
    for mode in ("auto", "reference"):
        net = nnframe.Network([nnframe.layer("dense", 8, 16), nnframe.layer("relu"),
                               nnframe.layer("dense", 16, 3)])
        name, options = optimizer["type"], {k: v for k, v in optimizer.items() if k != "type"}
        net.use("cross_entropy", nnframe.optimizer(name, learning_rate=0.01, **options))
        net.fit(x, y, epochs=3, batch_size=16, seed=1, verbose=0, kernels=mode)
        models.append(net.predict(x))
    np.testing.assert_allclose(models[0], models[1], rtol=1e-4, atol=1e-5)


def test_arrays_the_loop_cannot_take_go_to_the_reference():
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((6, 4)).astype(np.float32)[:, ::2] for _ in range(4)]
    arrays[3] = np.abs(arrays[3])
    copies = [a.copy() for a in arrays]
    options = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "step": 1}
    fused.adam_step(*arrays, **options)
    reference.adam_step(*copies, **options)
    for got, want in zip(arrays, copies, strict=True):
        np.testing.assert_array_equal(got, want)  # exactly: the same code ran
    with pytest.raises(ValueError, match="one shape and dtype"):
        fused.sgd_step(np.zeros(3, np.float32), np.zeros(4, np.float32), lr=0.1)


def test_a_float64_network_keeps_float64():
    values, grads = np.ones(5), np.full(5, 0.5)
    velocity = np.zeros(5)
    fused.sgd_step(values, grads, velocity, lr=0.1, momentum=0.9)
    assert values.dtype == np.float64 and np.allclose(values, 0.95)
    assert check_kernel(fused.rmsprop_step, name="rmsprop_step").passed


def run(code: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"} | env
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environ, check=False)


def test_compiled_kernels_are_cached_in_the_user_cache_directory(tmp_path):
    code = ("import numpy as np, numba, json\n"
            "from nnframe_numba import optimizers\n"
            "p, g, m, v = (np.ones(9, np.float32) for _ in range(4))\n"
            "optimizers.adam_step(p, g, m, v, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,"
            " step=1)\n"
            "print(json.dumps(numba.config.CACHE_DIR))\n")
    done = run(code, XDG_CACHE_HOME=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ""  # numba's own setting is put back
    cached = list((tmp_path / "nnframe" / "numba").rglob("*.nbi"))
    assert any("optimizers" in path.name for path in cached), cached


def test_listing_and_importing_nnframe_import_no_numba():
    code = ("import sys, nnframe\n"
            "from nnframe.core.registry import get_registry\n"
            "names = [c.qualified_name for c in get_registry().components('kernel')]\n"
            "assert 'nnframe-numba:adam_step' in names, names\n"
            "assert 'nnframe-numba:col2im' in names, names\n"
            "loaded = [m for m in sys.modules if m.startswith(('numba', 'nnframe_numba.op',"
            " 'nnframe_numba.conv', 'nnframe_numba.recurrent', 'nnframe_numba.vector_math',"
            " 'nnframe_conv.kernels', 'nnframe_recurrent.kernels'))]\n"
            "assert not loaded, loaded\n")
    done = run(code)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("name", "options"), [
    ("adam", {}), ("adamw", {"weight_decay": 0.1}), ("adam", {"weight_decay": 0.1}),
    ("sgd", {"momentum": 0.9, "nesterov": True}), ("rmsprop", {"momentum": 0.5})])
def test_the_fused_steps_follow_torch_optim(name, options):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    values = rng.standard_normal(1000).astype(np.float32)
    grads = [rng.standard_normal(1000).astype(np.float32) for _ in range(5)]
    parameter = torch.nn.Parameter(torch.tensor(values))
    classes = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD,
               "rmsprop": torch.optim.RMSprop}
    theirs = classes[name]([parameter], lr=0.01, **options)
    ours = values.copy()
    state = [np.zeros_like(ours) for _ in range(2)]
    for step, grad in enumerate(grads, 1):
        parameter.grad = torch.tensor(grad)
        theirs.step()
        if name in ("adam", "adamw"):
            function = fused.adamw_step if name == "adamw" else fused.adam_step
            function(ours, grad, *state, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8,
                     step=step, weight_decay=options.get("weight_decay", 0.0))
        elif name == "sgd":
            fused.sgd_step(ours, grad, state[0], lr=0.01, **options)
        else:
            fused.rmsprop_step(ours, grad, state[0], lr=0.01, alpha=0.99, eps=1e-8,
                               momentum=0.5, momentum_buffer=state[1])
    np.testing.assert_allclose(ours, parameter.detach().numpy(), rtol=1e-5, atol=1e-6)
