"""Turn the measurements into medians, ratios, the floor and the targets; print, chart, docs."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from benchmarks.workloads import IMAGE_SHAPE, WORKLOADS, matmul_flops

FRAMEWORK_ORDER = ("nnframe", "torch", "sklearn")
LABELS = {"nnframe": "nnframe", "torch": "PyTorch CPU", "sklearn": "scikit-learn"}
COLORS = {"nnframe": "#2a6f97", "torch": "#ee6c4d", "sklearn": "#98c1d9"}
TEST_SAMPLES = 10_000


def describe_measurement(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"ERROR {result['error']}"
    return (f"{result['epoch_s']:.2f} s/epoch, accuracy {result['accuracy']:.4f}, inference "
            f"{result['inference_s'] * 1e3:.1f} ms, peak {result['memory']['peak_mb']:.0f} MB")


def _stats(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def assemble(info: dict[str, Any], measurements: list[dict[str, Any]],
             startup: dict[str, Any] | None, skipped: dict[str, str],
             options: dict[str, Any]) -> dict[str, Any]:
    """Everything one run produced, with a summary per workload and the targets."""
    summary: dict[str, Any] = {}
    gemm = info.get("gemm_flops_per_s")
    for name in WORKLOADS:
        done = [m for m in measurements if m.get("workload") == name and "error" not in m]
        if not done:
            continue
        samples = done[0]["train_samples"]
        entry: dict[str, Any] = {"description": WORKLOADS[name].description,
                                 "train_samples": samples, "frameworks": {}}
        for framework in FRAMEWORK_ORDER:
            runs = [m for m in done if m["framework"] == framework]
            if not runs:
                continue
            entry["frameworks"][framework] = {
                "rounds": len(runs),
                "epoch_s": _stats([m["epoch_s"] for m in runs]),
                "inference_s": _stats([m["inference_s"] for m in runs]),
                "accuracy": _stats([m["accuracy"] for m in runs]),
                "peak_mb": _stats([m["memory"]["peak_mb"] for m in runs]),
                "epoch_extra_mb": _stats([m["memory"]["epoch_extra_mb"] for m in runs]),
                "memory_method": runs[0]["memory"]["method"],
            }
        entry["ratios"] = _ratios(done, entry["frameworks"])
        workload = WORKLOADS[name]
        entry["floor"] = {
            "train_flops": matmul_flops(workload, samples),
            "inference_flops": matmul_flops(workload, TEST_SAMPLES, training=False),
        }
        if gemm:
            entry["floor"]["epoch_s"] = entry["floor"]["train_flops"] / gemm
            entry["floor"]["inference_s"] = entry["floor"]["inference_flops"] / gemm
        summary[name] = entry
    return {"machine": info, "options": options, "summary": summary,
            "targets": targets(summary), "startup": startup, "skipped": skipped,
            "measurements": measurements}


def _ratios(done: list[dict[str, Any]], frameworks: dict[str, Any]) -> dict[str, Any]:
    """nnframe / peer: of the medians, and per round (same conditions) for the spread."""
    ratios = {}
    if "nnframe" not in frameworks:
        return ratios
    ours = {m["round"]: m for m in done if m["framework"] == "nnframe"}
    for peer in frameworks:
        if peer == "nnframe":
            continue
        paired = [ours[m["round"]]["epoch_s"] / m["epoch_s"]
                  for m in done if m["framework"] == peer and m["round"] in ours]
        ratios[peer] = {
            "epoch": frameworks["nnframe"]["epoch_s"]["median"]
            / frameworks[peer]["epoch_s"]["median"],
            "epoch_per_round": _stats(paired),
            "inference": frameworks["nnframe"]["inference_s"]["median"]
            / frameworks[peer]["inference_s"]["median"],
        }
    return ratios


def targets(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with its measured value and whether it holds."""
    found = []

    def add(name: str, value: float | None, limit: float, unit: str = "x") -> None:
        found.append({"target": name, "value": value, "limit": limit, "unit": unit,
                      "holds": None if value is None else value <= limit})

    def epoch_ratio(workload: str, peers: tuple[str, ...]) -> float | None:
        entry = summary.get(workload)
        if not entry or "nnframe" not in entry["frameworks"]:
            return None
        medians = [entry["frameworks"][p]["epoch_s"]["median"]
                   for p in peers if p in entry["frameworks"]]
        if not medians:
            return None
        return entry["frameworks"]["nnframe"]["epoch_s"]["median"] / min(medians)

    add("mlp epoch / faster of PyTorch and scikit-learn", epoch_ratio("mlp", ("torch", "sklearn")),
        0.9)
    add("seed-mlp epoch / PyTorch", epoch_ratio("seed-mlp", ("torch",)), 1.0)
    add("cnn epoch / PyTorch", epoch_ratio("cnn", ("torch",)), 1.5)
    mlp = summary.get("mlp", {})
    inference = mlp.get("ratios", {}).get("torch", {}).get("inference")
    add("mlp inference (10,000 images) / PyTorch", inference, 1.0)
    ours = mlp.get("frameworks", {}).get("nnframe")
    train_mb = mlp.get("train_samples", 60_000) * _image_size() * 4 / 2**20
    add(f"mlp epoch peak memory (limit: 2 x {train_mb:.0f} MB float32 training set + 100 MB)",
        ours["peak_mb"]["median"] if ours else None, 2 * train_mb + 100, "MB")
    return found


def _image_size() -> int:
    size = 1
    for n in IMAGE_SHAPE:
        size *= n
    return size


# -- text ----------------------------------------------------------------------------------


def table_rows(results: dict[str, Any]) -> list[list[str]]:
    """Header and rows of the main table (plain strings, for text and Markdown)."""
    rows = [["workload", "framework", "epoch s: median (min-max)",
             "nnframe / this (per round)", "test acc.", "inference ms", "peak MB"]]
    for name, entry in results["summary"].items():
        for framework, stats in entry["frameworks"].items():
            epoch = stats["epoch_s"]
            ratio = entry["ratios"].get(framework)
            shown = "-"
            if ratio is not None:
                paired = ratio["epoch_per_round"]
                shown = f"{ratio['epoch']:.2f}x ({paired['min']:.2f}-{paired['max']:.2f})"
            rows.append([
                name, LABELS[framework],
                f"{epoch['median']:.2f} ({epoch['min']:.2f}-{epoch['max']:.2f})",
                shown,
                f"{stats['accuracy']['median']:.4f}",
                f"{stats['inference_s']['median'] * 1e3:.1f}",
                f"{stats['peak_mb']['median']:.0f}",
            ])
        floor = entry["floor"]
        if "epoch_s" in floor:
            rows.append([name, "floor (GEMM FLOPs / rate)", f"{floor['epoch_s']:.2f}", "",
                         "", f"{floor['inference_s'] * 1e3:.1f}", ""])
    return rows


def target_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = [["target", "measured", "limit", "holds"]]
    for t in results["targets"]:
        unit = t["unit"]
        value = "n/a" if t["value"] is None else f"{t['value']:.2f}{unit if unit == 'x' else ' MB'}"
        limit = f"{t['limit']:.2f}x" if unit == "x" else f"{t['limit']:.0f} MB"
        holds = {True: "yes", False: "NO", None: "not measured"}[t["holds"]]
        rows.append([t["target"], value, limit, holds])
    return rows


def startup_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = [["command", "median s", "plugin modules imported"]]
    for label, entry in (results.get("startup") or {}).get("commands", {}).items():
        imported = entry.get("plugin_modules_imported")
        shown = "" if imported is None else (", ".join(imported) or "none")
        rows.append([label, f"{entry['median_s']:.3f}", shown])
    return rows


def _text_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def machine_line(info: dict[str, Any]) -> str:
    blas = ", ".join(f"{b.get('internal_api')} {b.get('version')} ({b.get('architecture')}, "
                     f"{b.get('num_threads')} threads)" for b in info.get("blas", []))
    versions = info.get("versions", {})
    gemm = info.get("gemm_flops_per_s", 0) / 1e9
    return (f"{info['cpu']}, {info['cores']} cores; {info['threads']} thread(s) for every "
            f"framework; numpy {versions.get('numpy')} with {blas or 'unknown BLAS'}; torch "
            f"{versions.get('torch')}; scikit-learn {versions.get('scikit-learn')}; Python "
            f"{info['python']}; float32 GEMM {gemm:.0f} GFLOP/s; load average "
            f"{info.get('load_average_start')} at the start, {info.get('load_average_end')} "
            "at the end")


def format_report(results: dict[str, Any]) -> str:
    parts = [machine_line(results["machine"]), "", _text_table(table_rows(results)), "",
             _text_table(target_rows(results))]
    if results.get("startup"):
        parts += ["", _text_table(startup_rows(results)),
                  "lazy plugin loading: " + ("ok" if results["startup"]["lazy_plugins_ok"]
                                             else "FAILED")]
    for name, why in results.get("skipped", {}).items():
        parts.append(f"{name}: {why}")
    return "\n".join(parts)


# -- chart ---------------------------------------------------------------------------------


def chart(results: dict[str, Any], path: Path) -> None:
    """Grouped bars per workload: epoch seconds (with the floor), inference ms, peak MB."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = results["summary"]
    names = list(summary)
    panels = [("one epoch (s)", "epoch_s", 1.0), ("inference, 10,000 images (ms)",
              "inference_s", 1e3), ("peak memory of the epoch (MB)", "peak_mb", 1.0)]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    width = 0.8 / len(FRAMEWORK_ORDER)
    for ax, (title, key, scale) in zip(axes, panels, strict=True):
        labelled = set()
        for j, name in enumerate(names):
            present = [f for f in FRAMEWORK_ORDER if f in summary[name]["frameworks"]]
            for i, framework in enumerate(present):
                s = summary[name]["frameworks"][framework][key]
                low, high = (s["median"] - s["min"]) * scale, (s["max"] - s["median"]) * scale
                ax.bar(j + (i - (len(present) - 1) / 2) * width, s["median"] * scale, width,
                       yerr=[[low], [high]], capsize=3, color=COLORS[framework],
                       label=None if framework in labelled else LABELS[framework])
                labelled.add(framework)
        if key in ("epoch_s", "inference_s"):
            for j, name in enumerate(names):
                floor = summary[name]["floor"].get(key)
                if floor is not None:
                    ax.hlines(floor * scale, j - 0.45, j + 0.45, colors="black",
                              linestyles="dashed", linewidth=1,
                              label="floor: GEMM FLOPs / rate" if j == 0 else None)
        ax.set_xticks(range(len(names)), names)
        if key != "peak_mb":  # times span orders of magnitude, and so do the outliers
            ax.set_yscale("log")
        ax.set_title(title + (", log scale" if key != "peak_mb" else ""), fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    info = results["machine"]
    fig.suptitle(f"nnframe vs PyTorch CPU vs scikit-learn: median of "
                 f"{results['options']['rounds']} rounds (bars: min-max), {info['threads']} "
                 f"thread(s), {info['cpu']}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -- docs ----------------------------------------------------------------------------------


def markdown(results: dict[str, Any]) -> str:
    """docs/performance.md for this run."""
    info, options = results["machine"], results["options"]
    memory_methods = {s["memory_method"] for e in results["summary"].values()
                      for s in e["frameworks"].values()}
    lines = [
        "# Performance",
        "",
        "nnframe's claim is that a clean plugin design costs nothing in speed. This page shows",
        "the reference workloads trained for one epoch on the 60,000 MNIST training",
        "images in nnframe, PyTorch (CPU) and scikit-learn, one after the other on one machine,",
        "and is rewritten by every full run of `nox -s bench`. The workloads",
        "(`benchmarks/workloads.py`):",
        "",
        "- `seed-mlp`: the classic network of the original from-scratch tutorial,",
        "  784-100-50-10 with tanh after each layer, MSE on one-hot labels, SGD at 0.1, batch 32;",
        "- `mlp`: 784-256-128-10 with ReLU, softmax cross-entropy from logits, Adam at 1e-3,",
        "  batch 128;",
        "- `cnn`: two 3x3 convolutions (8 and 16 filters) with ReLU and 2x2 max pooling, then",
        "  dense 400-10; softmax cross-entropy, Adam at 1e-3, batch 64.",
        "",
        "[![nnframe vs PyTorch CPU vs scikit-learn](img/performance.png)](img/performance.png)",
        "",
        "*Select the chart to see it at full size.*",
        "",
        f"## Latest run: median of {options['rounds']} rounds",
        "",
        _markdown_table(table_rows(results)),
        "",
        "`nnframe / this` is nnframe's median epoch time divided by that framework's; in",
        "brackets, the lowest and highest ratio of a single round (both measured minutes",
        "apart, under the same conditions).",
        "The floor is the epoch's matrix-multiply FLOPs (forward, weight gradients, input",
        "gradients except for the first layer with weights) divided by the float32 GEMM rate",
        "measured on this machine (the best of five 2048 x 2048 products): no framework",
        "that multiplies those matrices can beat it.",
        "",
        "### Targets",
        "",
        _markdown_table(target_rows(results)),
        "",
    ]
    if results.get("skipped"):
        lines += [f"- `{name}`: {why}" for name, why in results["skipped"].items()] + [""]
    lines += [
        "## Machine",
        "",
        machine_line(info) + ".",
        "",
        "The machine is shared with other work, so times are noisy: the rounds interleave the",
        "frameworks so that each suffers the same disturbances, the tables give medians, and",
        "the bars of the chart show the spread (min to max). With two threads on two busy",
        "cores, a process whose BLAS or OpenMP threads must wait for each other sometimes",
        "loses a whole scheduler time slice per matrix product: that is where the occasional",
        "epoch several times slower than the median comes from, in every framework.",
        "`--threads 1` compares single-threaded compute and is far steadier.",
        "",
    ]
    if results.get("startup"):
        startup = results["startup"]
        lines += [
            "## Start-up",
            "",
            _markdown_table(startup_rows(results)),
            "",
            "`nnframe --help` imports no plugin module (discovery is lazy); `nnframe "
            "list` needs every plugin, so it imports them. Check: "
            + ("passed." if startup["lazy_plugins_ok"] else "**FAILED**."),
            "",
        ]
    lines += [
        "## Where nnframe's time goes, and what keeps it low",
        "",
        "- The matrix products are NumPy's (OpenBLAS): on the MLPs they take most of the",
        "  epoch and run near the machine's GEMM rate; the floor above shows how close.",
        "- Training runs backward only down to the first layer with parameters, and asks",
        "  that layer for its parameter gradients alone (`backward_parameters`): nothing",
        "  needs dE/dX of the input images, a quarter of the MLP's matrix work.",
        "- Parameters and gradients live in one buffer each (a `ParameterGroup`); the layers",
        "  hold views, so the optimizer updates every parameter with one set of ufunc calls.",
        "- Shuffled batches are copied into reused buffers; inputs are converted and checked",
        "  once per `fit` (a flatten of contiguous images is a view); float32 throughout.",
        "- Convolution and pooling are the nnframe-conv plugin's own code (im2col and one",
        "  matrix product per layer), mostly element-wise NumPy work that runs on one thread",
        "  where PyTorch's kernels use every thread.",
        "",
        "## Method",
        "",
        "- Each measurement runs in a fresh Python process: it loads the data, builds the",
        "  network from the one definition in `benchmarks/workloads.py` (Glorot-uniform",
        "  weights and zero biases in nnframe and PyTorch), times one shuffled epoch, then",
        "  predicts the 10,000 test images once (accuracy) and times five more predictions",
        "  (the median counts).",
        "- nnframe: `Network.fit(x, y, epochs=1, batch_size=...)` on the (N, 28, 28, 1) images.",
        "  PyTorch: the usual loop (`randperm`, index the batch, `zero_grad`, `backward`,",
        "  `step`) on `torch.from_numpy` views, default optimizer settings.",
        "  scikit-learn: `MLPClassifier(hidden_layer_sizes=(256, 128), solver='adam',",
        "  alpha=0, batch_size=128, max_iter=1).fit(X, y)`: exactly one epoch, in float32.",
        "- Threads: every framework gets the same count (numpy's BLAS and scikit-learn through",
        "  threadpoolctl, `torch.set_num_threads` for PyTorch); by default what numpy's BLAS",
        "  uses. OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which some machines set for old",
        "  OpenBLAS builds, are removed from the measuring processes' environment.",
        "- Peak memory (" + ", ".join(sorted(memory_methods)) + "): the resident set's",
        "  high-water mark (VmHWM), reset just before the epoch through /proc/self/clear_refs,",
        "  minus the resident size before the data were loaded. It counts the training set as",
        "  the framework holds it, the model and every buffer of the epoch, and not the",
        "  transient copies made while reading the files.",
        "",
        "## Rerun",
        "",
        "```bash",
        "nox -s bench                              # 5 rounds, rewrites this page",
        "nox -s bench -- --rounds 3 --workloads mlp,cnn",
        "nox -s bench -- --threads 1               # the same thread count for everyone",
        "nox -s bench -- --quick                   # 1 round on 10,000 images, no docs",
        "nox -s bench -- --report-only benchmarks/results/latest.json   # redraw, no runs",
        "```",
        "",
        "The session installs nnframe, every plugin under `plugins/`, `torch==2.13.0` (a CPU",
        "build), scikit-learn, matplotlib and threadpoolctl in its own virtualenv, and reads",
        "MNIST from `NNFRAME_DATA_DIR` (else it is downloaded once). The raw results are in",
        "`benchmarks/results/latest.json`.",
        "",
    ]
    return "\n".join(lines)
