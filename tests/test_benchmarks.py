"""The benchmark suite's own arithmetic: one workload definition, GEMM shapes, the plan of
the rounds, per-round ratios and their noise flag, the targets.

The measurements themselves need torch and scikit-learn and run in ``nox -s bench``.
"""

from __future__ import annotations

import pytest

from benchmarks import report, steps
from benchmarks.__main__ import parse_args, plan
from benchmarks.workloads import (
    WORKLOADS,
    batch_gemms,
    build_nnframe,
    count_parameters,
    epoch_batches,
    matmul_flops,
)


@pytest.mark.parametrize("name", ["seed-mlp", "mlp", "resmlp"])
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
    # resmlp: three dense layers of 256 in and around the residual block, two batch norms
    # of 256 inside it and one before it (gamma and beta each)
    assert count_parameters(WORKLOADS["resmlp"]) == (785 * 256 + 2 * 257 * 256 + 257 * 10
                                                     + 3 * 2 * 256)
    assert matmul_flops(WORKLOADS["resmlp"], 1, training=False) == 2 * (
        784 * 256 + 2 * 256 * 256 + 256 * 10)
    # seq-mnist: 4 gates of 128 over 28 inputs and 128 recurrent units, one bias
    assert count_parameters(WORKLOADS["seq-mnist"]) == 4 * 128 * (28 + 128 + 1) + 129 * 10
    assert matmul_flops(WORKLOADS["seq-mnist"], 1, training=False) == 2 * (
        28 * 28 * 512 + 28 * 128 * 512 + 128 * 10)


def test_the_sequence_workload_builds_in_nnframe_for_its_own_input_shape():
    pytest.importorskip("nnframe_recurrent", reason="nnframe-recurrent is not installed")
    net = build_nnframe(WORKLOADS["seq-mnist"], seed=0)
    assert net.input_shape == (28, 28)
    assert net.count_params() == count_parameters(WORKLOADS["seq-mnist"])


def test_the_transformer_workload_has_the_same_parameters_in_nnframe_and_pytorch():
    pytest.importorskip("nnframe_attention", reason="nnframe-attention is not installed")
    workload = WORKLOADS["seq-mnist-transformer"]
    net = build_nnframe(workload, seed=0)
    # dense 28->64, positions (28, 64), two blocks, dense 64->10
    assert net.count_params() == count_parameters(workload) == (
        29 * 64 + 28 * 64 + 2 * (4 * 64 * 64 + 4 * 64 + 2 * 64 * 128 + 128 + 64 + 4 * 64)
        + 65 * 10)
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    from benchmarks.workloads import build_torch

    model, _, _ = build_torch(workload, seed=0)
    assert sum(p.numel() for p in model.parameters()) == count_parameters(workload)
    with torch.no_grad():
        assert tuple(model(torch.zeros(2, 28, 28)).shape) == (2, 10)


def test_the_floor_times_the_products_the_layers_compute():
    shapes = [(g.m, g.k, g.n, g.role) for g in batch_gemms(WORKLOADS["mlp"], 128)]
    assert shapes == [
        (128, 784, 256, "forward"), (784, 128, 256, "weights"),  # no input gradient
        (128, 256, 128, "forward"), (256, 128, 128, "weights"), (128, 128, 256, "input"),
        (128, 128, 10, "forward"), (128, 128, 10, "weights"), (128, 10, 128, "input"),
    ]
    conv = batch_gemms(WORKLOADS["cnn"], 64)[:3]
    assert [(g.m, g.k, g.n) for g in conv] == [(64 * 26 * 26, 9, 8), (9, 64 * 26 * 26, 8),
                                                (64 * 11 * 11, 72, 16)]
    assert epoch_batches(60_000, 128) == {128: 468, 96: 1}
    assert epoch_batches(256, 128) == {128: 2}


def test_the_optimizer_step_sizes():
    assert steps.parameter_count("235k") == count_parameters(WORKLOADS["mlp"]) == 235_146
    assert steps.parameter_count("20M") == 20_008_000


def test_rounds_interleave_every_framework_at_every_thread_count():
    args = parse_args(["--rounds", "2", "--workloads", "mlp", "--threads", "2,1",
                       "--steps", "235k", "--no-docs"])
    rounds = plan(args, ["mlp"])
    first = [(r["kind"], r.get("framework"), r["threads"]) for r in rounds[0]]
    assert first[:5] == [("floor", None, 1), ("epoch", "nnframe", 1), ("epoch", "torch", 1),
                         ("epoch", "torch-default", 1), ("epoch", "sklearn", 1)]
    assert first[5:7] == [("steps", "nnframe", 1), ("steps", "torch", 1)]
    assert {t for _, _, t in first} == {1, 2}
    second = [r.get("framework") for r in rounds[1] if r["kind"] == "epoch"]
    assert second[:4] == ["torch", "torch-default", "sklearn", "nnframe"]  # rotated


def measurement(framework, round_index, epoch_s, threads=2, workload="mlp", **extra):
    times = {"epoch_s": epoch_s, "epoch_cpu_s": epoch_s, "inference_s": 0.02,
             "inference_cpu_s": 0.02, "latency_s": 1e-4, "accuracy": 0.9}
    return {"kind": "epoch", "framework": framework, "workload": workload,
            "threads": threads, "round": round_index, "train_samples": 60_000,
            "memory": {"peak_mb": 200.0, "method": "VmHWM"}, **times, **extra}


def test_ratios_are_paired_by_round_and_wide_ones_are_flagged_noisy():
    steady = [measurement("nnframe", r, 1.0 + 0.1 * r) for r in range(3)]
    steady += [measurement("torch", r, 2.0 + 0.2 * r) for r in range(3)]
    entry = report.summarise_epochs(steady)["mlp"]["2"]
    ratio = entry["ratios"]["torch"]["epoch_s"]
    assert ratio["median"] == pytest.approx(0.5) and ratio["n"] == 3
    assert ratio["noisy"] is False
    noisy = [measurement("nnframe", r, 1.0) for r in range(3)]
    noisy += [measurement("torch", r, t) for r, t in enumerate((2.0, 1.0, 2.1))]
    ratio = report.summarise_epochs(noisy)["mlp"]["2"]["ratios"]["torch"]["epoch_s"]
    assert ratio["median"] == pytest.approx(0.5) and ratio["noisy"] is True


def test_targets_hold_at_two_threads_and_show_one_thread():
    runs = [measurement("nnframe", 0, 0.7), measurement("torch", 0, 1.0),
            measurement("nnframe", 0, 0.9, threads=1), measurement("torch", 0, 1.0, threads=1)]
    found = {t["target"]: t for t in report.targets(report.summarise_epochs(runs), {})}
    mlp = found["mlp epoch / PyTorch fused"]
    assert mlp["value"] == pytest.approx(0.7) and mlp["holds"] is True
    assert mlp["one_thread"] == pytest.approx(0.9)
    assert mlp["one_thread_cpu"] == pytest.approx(0.9)  # epoch_cpu_s equals epoch_s here
    assert found["cnn epoch / PyTorch fused"]["holds"] is None  # not measured
    slower = [measurement("nnframe", 0, 0.9), measurement("torch", 0, 1.0)]
    found = {t["target"]: t for t in report.targets(report.summarise_epochs(slower), {})}
    assert found["mlp epoch / PyTorch fused"]["holds"] is False


def test_optimizer_steps_are_compared_with_torch_fused_adam_round_by_round():
    def steps_result(framework, round_index, times):
        return {"kind": "steps", "framework": framework, "size": "235k", "threads": 2,
                "round": round_index, "parameters": 235_146,
                "optimizers": {k: {"wall_s": v, "cpu_s": v} for k, v in times.items()}}

    runs = [steps_result("nnframe", r, {"adam": 2e-4 * (r + 1)}) for r in range(2)]
    runs += [steps_result("torch", r, {report.TORCH_FUSED_ADAM: 4e-4 * (r + 1)})
             for r in range(2)]
    summary = report.summarise_steps(runs)
    ratio = summary["235k"]["2"]["optimizers"]["adam"]["over_torch_fused"]
    assert ratio["median"] == pytest.approx(0.5) and not ratio["noisy"]
    assert summary["235k"]["2"]["optimizers"]["adam"]["over_torch_fused_cpu"]["median"] == \
        pytest.approx(0.5)
    found = {t["target"]: t for t in report.targets({}, summary)}
    assert found["adam step at 235k parameters / PyTorch fused Adam"]["holds"] is True
    rows = report.step_rows({"steps": summary})
    assert rows[1][2] == "nnframe adam" and rows[2][2] == report.TORCH_FUSED_ADAM


def test_the_thread_check_times_every_split_operation(capsys):
    from benchmarks import threads

    assert threads.main(["--rounds", "1", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    for label in ("relu forward (4096, 256)", "tanh backward", "dense forward",
                  "adam step, 235,146 parameters"):
        assert label in out
    assert out.count("2/1") >= 10


def test_the_reading_benchmark_times_every_reader_on_the_same_rows(tmp_path):
    pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    from benchmarks.reading import measure, table

    report = measure(rounds=2, megabytes=0.2)
    assert set(report["results"]) == {"nnframe csv", "pandas.read_csv",
                                      "pyarrow.csv.read_csv", "nnframe parquet",
                                      "pyarrow.parquet.read_table"}
    assert report["results"]["nnframe csv"]["speed_vs_nnframe_csv"] == 1.0
    assert all(r["rows_per_second"] > 0 for r in report["results"].values())
    assert "rows/s" in table(report)


def test_the_layer_kernel_rows_time_two_versions_that_agree():
    pytest.importorskip("nnframe_numba")
    pytest.importorskip("nnframe_conv")
    pytest.importorskip("nnframe_recurrent")
    import importlib

    import numpy as np
    from nnframe_numba.plugin import LAYER_KERNELS

    from benchmarks import layer_kernels

    for label in layer_kernels.KERNEL_ROWS:
        name, module, args, kwargs = layer_kernels.kernel_arguments(label)
        ours = [a.copy() for a in args]
        getattr(importlib.import_module(module), name)(*args, **kwargs)
        compiled = f"nnframe_numba.{LAYER_KERNELS[name][1]}"
        fused = (getattr(layer_kernels, layer_kernels.CANDIDATES[label])()
                 if label in layer_kernels.CANDIDATES
                 else getattr(importlib.import_module(compiled), name))
        fused(*ours, **kwargs)
        for got, want in zip(ours, args, strict=True):
            np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6, err_msg=label)


def test_the_layer_kernel_epochs_are_compared_setting_by_setting():
    from benchmarks.layer_kernels import epoch_table

    def result(setting, threads, cpu, wall):
        return {"workload": "cnn", "threads": threads, "setting": setting,
                "epoch_cpu_s": cpu, "epoch_s": wall}

    rows = epoch_table([result("nnframe", 1, 2.0, 9.0), result("nnframe-numba", 1, 1.5, 9.0),
                        result("torch", 1, 3.0, 9.0), result("nnframe", 2, 9.0, 4.0),
                        result("nnframe-numba", 2, 9.0, 2.0), {"error": "took too long"}])
    numba_one = next(r for r in rows if r["setting"] == "nnframe-numba" and r["threads"] == 1)
    assert (numba_one["measure"], numba_one["median"]) == ("CPU s", 1.5)
    assert numba_one["vs nnframe"] == 0.75 and numba_one["vs torch"] == 0.5
    numba_two = next(r for r in rows if r["setting"] == "nnframe-numba" and r["threads"] == 2)
    assert (numba_two["measure"], numba_two["vs nnframe"]) == ("wall s", 0.5)
    assert "vs torch" not in numba_two


def test_the_instruction_count_child_trains_on_the_tree_it_is_given():
    """The child that callgrind counts runs as is (no valgrind here) on this tree's
    nnframe, for every workload it offers; an nnframe from elsewhere is refused."""
    from pathlib import Path

    from benchmarks import instructions

    tree = Path(instructions.__file__).resolve().parent.parent
    for name in ("tiny", "seed-mlp", "mlp"):
        assert instructions.count(tree, instructions.CHOICES[name], 1, 2, None,
                                  Path("unused")) == 0
    with pytest.raises(RuntimeError, match="not from"):
        instructions.count(tree / "tests", instructions.TINY, 1, 2, None, Path("unused"))


def test_instructions_per_batch_are_the_difference_of_two_runs_over_k(tmp_path, monkeypatch):
    from pathlib import Path

    from benchmarks import instructions

    totals = {10: 1_000_000, 20: 1_500_000}
    monkeypatch.setattr(instructions, "count",
                        lambda tree, workload, batches, most, out, counter:
                        totals.get(batches, 0) if out else 0)
    old = instructions.per_batch(Path("/old"), instructions.TINY, 10, tmp_path, Path("c"))
    assert old["per_batch"] == 50_000
    text = instructions.report({"tiny": {"/old": old, "/new": {**old, "per_batch": 51_000}}},
                               ["/old", "/new"])
    assert "1.0200" in text and "50,000" in text and "51,000" in text


def test_numba_rows_rotate_the_settings_and_give_ratios_to_torch():
    from benchmarks import numba_rows

    order = []
    cases = {label: (lambda label=label: order.append(label)) for label in "abc"}
    summary = numba_rows._rounds(cases, 3)
    assert order == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert set(summary) == set("abc") and len(summary["a"]["cpu_runs"]) == 3
    row = {"cpu_s": 2.0, "wall_s": 1.0, "cpu_spread_s": [1.0, 3.0],
           "wall_spread_s": [1.0, 1.0], "steps_per_run": 1, "kernel": "nnframe-numba"}
    torch_row = {**row, "cpu_s": 4.0, "wall_s": 0.5, "kernel": "torch"}
    text = numba_rows.report({"1t": {"mlp epoch|nnframe numba": row,
                                     "mlp epoch|torch fused": torch_row},
                              "2t": {"mlp epoch|nnframe numba": row,
                                     "mlp epoch|torch fused": torch_row}}, None)
    lines = [line for line in text.splitlines() if "nnframe numba" in line]
    assert "0.50" in lines[0] and "2.00" in lines[1]  # 1 thread: CPU; 2 threads: wall
    assert numba_rows.batch1_workload(256).input_shape == (256,)
    assert count_parameters(numba_rows.batch1_workload(256)) == 2 * 257 * 256 + 257 * 10


def _nnframe_imports() -> list[tuple[str, str, str]]:
    """Every ``from nnframe... import name`` in the benchmark modules, function bodies
    included (where most of them are, to keep each child process's imports its own)."""
    import ast
    from pathlib import Path

    found = []
    for path in sorted((Path(__file__).parent.parent / "benchmarks").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.ImportFrom) and node.module
                    and node.module.split(".")[0] == "nnframe"):
                found += [(path.name, node.module, alias.name) for alias in node.names]
    return found


@pytest.mark.parametrize(("benchmark", "module", "name"), _nnframe_imports())
def test_every_nnframe_name_a_benchmark_imports_exists(benchmark, module, name):
    """The benchmarks run only in ``nox -s bench``: a module that moved would otherwise
    break them unnoticed (``nnframe.kernels`` became ``nnframe.speed.kernels``)."""
    import importlib

    imported = importlib.import_module(module)
    if not hasattr(imported, name):
        importlib.import_module(f"{module}.{name}")  # a submodule: raises if absent
