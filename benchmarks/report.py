"""Turn the measurements into medians, per-round ratios, floors and targets; print, chart,
and write docs/performance.md.

Ratios are nnframe / peer, computed round by round (both measured minutes apart under the
same conditions) and summarised by their median, with the lowest and highest round beside
it. A comparison whose rounds disagree by more than `NOISY_SPREAD` (highest over lowest
round) is flagged as noisy: its median says less than its digits suggest.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from benchmarks.steps import NNFRAME_OPTIMIZERS
from benchmarks.workloads import IMAGE_SHAPE

FRAMEWORK_ORDER = ("nnframe", "nnframe-threads", "torch", "torch-default", "sklearn")
LABELS = {"nnframe": "nnframe", "nnframe-threads": 'nnframe, strategy="threads"',
          "torch": "PyTorch (fused optimizer)",
          "torch-default": "PyTorch (default optimizer)", "sklearn": "scikit-learn"}
COLORS = {"nnframe": "#2a6f97", "nnframe-threads": "#61a5c2", "torch": "#ee6c4d",
          "torch-default": "#f4a261", "sklearn": "#98c1d9"}
#: Highest over lowest per-round ratio above which a comparison is flagged as noisy.
NOISY_SPREAD = 1.3
#: The thread count the targets are set at.
TARGET_THREADS = 2
TORCH_FUSED_ADAM = "torch adam (fused)"


def describe_measurement(result: dict[str, Any]) -> str:
    """One line for the progress log."""
    if "error" in result:
        return f"ERROR {result['error']}"
    kind = result.get("kind", "epoch")
    if kind == "floor":
        return (f"GEMM floor {result['epoch_s']:.3f} s/epoch, inference "
                f"{result['inference_s'] * 1e3:.1f} ms")
    if kind == "steps":
        return ", ".join(f"{label} {o['wall_s'] * 1e3:.3f} ms"
                         for label, o in result["optimizers"].items())
    return (f"{result['epoch_s']:.2f} s/epoch (CPU {result['epoch_cpu_s']:.2f} s), accuracy "
            f"{result['accuracy']:.4f}, inference {result['inference_s'] * 1e3:.1f} ms, "
            f"one sample {result['latency_s'] * 1e6:.0f} us, peak "
            f"{result['memory']['peak_mb']:.0f} MB")


def _stats(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def _spread(stats: dict[str, float]) -> float | None:
    return stats["max"] / stats["min"] if stats["n"] > 1 and stats["min"] > 0 else None


def _paired(ours: list[dict], theirs: list[dict], key: str) -> dict[str, Any] | None:
    """nnframe / peer of ``key`` round by round, summarised, with the noise flag."""
    return _round_ratios({m["round"]: m[key] for m in ours},
                         {m["round"]: m[key] for m in theirs})


# -- assembling ----------------------------------------------------------------------------


def assemble(info: dict[str, Any], measurements: list[dict[str, Any]],
             startup: dict[str, Any] | None, skipped: dict[str, str],
             options: dict[str, Any]) -> dict[str, Any]:
    """Everything one run produced: summaries of the epochs and of the steps, targets."""
    ok = [m for m in measurements if "error" not in m]
    summary = summarise_epochs(ok)
    steps = summarise_steps(ok)
    return {"machine": info, "options": options, "summary": summary, "steps": steps,
            "targets": targets(summary, steps), "startup": startup, "skipped": skipped,
            "measurements": measurements}


def summarise_epochs(measurements: list[dict[str, Any]]) -> dict[str, Any]:
    """{workload: {threads: entry}} with each framework's statistics, the floor and the
    per-round ratios of nnframe to each peer."""
    from benchmarks.workloads import WORKLOADS

    summary: dict[str, Any] = {}
    for name, workload in WORKLOADS.items():
        runs = [m for m in measurements if m.get("workload") == name]
        for threads in sorted({m["threads"] for m in runs}):
            here = [m for m in runs if m["threads"] == threads]
            epochs = [m for m in here if m.get("kind", "epoch") == "epoch"]
            floors = [m for m in here if m.get("kind") == "floor"]
            if not epochs:
                continue
            entry: dict[str, Any] = {"description": workload.description,
                                     "train_samples": epochs[0]["train_samples"],
                                     "frameworks": {}, "ratios": {}}
            by_framework = {f: [m for m in epochs if m["framework"] == f]
                            for f in FRAMEWORK_ORDER}
            for framework, done in by_framework.items():
                if done:
                    entry["frameworks"][framework] = _framework_stats(done)
            ours = by_framework["nnframe"]
            for peer, theirs in by_framework.items():
                if peer == "nnframe" or not theirs or not ours:
                    continue
                entry["ratios"][peer] = {key: _paired(ours, theirs, key) for key in
                                         ("epoch_s", "epoch_cpu_s", "inference_s",
                                          "inference_cpu_s", "latency_s")}
            threaded = by_framework["nnframe-threads"]  # strategy="threads" against peers
            for peer in ("torch", "torch-default"):
                if threaded and by_framework[peer]:
                    entry.setdefault("threads_ratios", {})[peer] = {
                        key: _paired(threaded, by_framework[peer], key)
                        for key in ("epoch_s", "epoch_cpu_s")}
            if floors:
                entry["floor"] = {"epoch_s": _stats([f["epoch_s"] for f in floors]),
                                  "inference_s": _stats([f["inference_s"] for f in floors]),
                                  "epoch_flops": floors[0]["epoch_flops"]}
                if ours:
                    entry["floor"]["nnframe_over_floor"] = _paired(ours, floors, "epoch_s")
            summary.setdefault(name, {})[str(threads)] = entry
    return summary


def _framework_stats(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("epoch_s", "epoch_cpu_s", "inference_s", "inference_cpu_s", "latency_s",
            "accuracy")
    stats = {key: _stats([m[key] for m in runs]) for key in keys}
    stats["rounds"] = len(runs)
    stats["peak_mb"] = _stats([m["memory"]["peak_mb"] for m in runs])
    stats["memory_method"] = runs[0]["memory"]["method"]
    return stats


def summarise_steps(measurements: list[dict[str, Any]]) -> dict[str, Any]:
    """{size: {threads: {optimizer label: stats, ..., "ratios": per-round / torch fused}}}."""
    runs = [m for m in measurements if m.get("kind") == "steps"]
    summary: dict[str, Any] = {}
    for size in dict.fromkeys(m["size"] for m in runs):
        for threads in sorted({m["threads"] for m in runs if m["size"] == size}):
            here = [m for m in runs if m["size"] == size and m["threads"] == threads]
            rows: dict[str, Any] = {}
            per_round: dict[str, dict[int, float]] = {}
            per_round_cpu: dict[str, dict[int, float]] = {}
            for m in here:
                for label, o in m["optimizers"].items():
                    per_round.setdefault(label, {})[m["round"]] = o["wall_s"]
                    per_round_cpu.setdefault(label, {})[m["round"]] = o["cpu_s"]
                    rows.setdefault(label, {"wall": [], "cpu": []})
                    rows[label]["wall"].append(o["wall_s"])
                    rows[label]["cpu"].append(o["cpu_s"])
            entry: dict[str, Any] = {"parameters": here[0]["parameters"], "optimizers": {}}
            for label, values in rows.items():
                stats = {"wall_s": _stats(values["wall"]), "cpu_s": _stats(values["cpu"])}
                if label != TORCH_FUSED_ADAM:
                    for key, times in (("over_torch_fused", per_round),
                                       ("over_torch_fused_cpu", per_round_cpu)):
                        ratio = _round_ratios(times.get(label, {}),
                                              times.get(TORCH_FUSED_ADAM, {}))
                        if ratio is not None:
                            stats[key] = ratio
                entry["optimizers"][label] = stats
            summary.setdefault(size, {})[str(threads)] = entry
    return summary


def _round_ratios(ours: dict[int, float], theirs: dict[int, float]) -> dict[str, Any] | None:
    """ours / theirs in every round both have, summarised, with the noise flag."""
    ratios = [ours[r] / theirs[r] for r in ours if r in theirs and theirs[r] > 0]
    if not ratios:
        return None
    stats = _stats(ratios)
    spread = _spread(stats)
    stats["noisy"] = spread is not None and spread > NOISY_SPREAD
    return stats


# -- targets -------------------------------------------------------------------------------


def targets(summary: dict[str, Any], steps: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets, each measured at `TARGET_THREADS` threads (1 thread beside it)."""
    found = []

    def add(name: str, values: dict[str, dict | None], limit: float, unit: str = "x",
            cpu: dict[str, dict | None] | None = None) -> None:
        target = values.get(str(TARGET_THREADS))
        value = None if target is None else target["median"]
        found.append({
            "target": name, "limit": limit, "unit": unit,
            "value": value, "noisy": bool(target and target.get("noisy")),
            "spread": None if target is None else [target["min"], target["max"]],
            "one_thread": (values.get("1") or {}).get("median"),
            "one_thread_cpu": ((cpu or {}).get("1") or {}).get("median"),
            "holds": None if value is None else value <= limit,
        })

    def ratio(workload: str, key: str, peer: str = "torch") -> dict[str, dict | None]:
        return {threads: entry["ratios"].get(peer, {}).get(key)
                for threads, entry in summary.get(workload, {}).items()}

    for workload, limit in (("mlp", 0.8), ("seed-mlp", 0.6), ("cnn", 1.0), ("resmlp", 1.0),
                            ("seq-mnist", 1.0), ("seq-mnist-transformer", 1.5)):
        add(f"{workload} epoch / PyTorch fused", ratio(workload, "epoch_s"), limit,
            cpu=ratio(workload, "epoch_cpu_s"))
    for workload in ("mlp", "seed-mlp", "cnn"):
        add(f"{workload} inference, 10,000 images / PyTorch", ratio(workload, "inference_s"),
            1.0, cpu=ratio(workload, "inference_cpu_s"))
    for workload in ("mlp", "seed-mlp", "cnn"):
        add(f"{workload} one-sample predict latency / PyTorch", ratio(workload, "latency_s"),
            0.5)
    def step_ratio(by_threads: dict[str, Any], label: str, key: str) -> dict[str, dict | None]:
        return {threads: entry["optimizers"].get(label, {}).get(key)
                for threads, entry in by_threads.items()}

    for size, by_threads in steps.items():
        for label in NNFRAME_OPTIMIZERS:
            add(f"{label} step at {size} parameters / PyTorch fused Adam",
                step_ratio(by_threads, label, "over_torch_fused"), 1.0,
                cpu=step_ratio(by_threads, label, "over_torch_fused_cpu"))
    mlp = summary.get("mlp", {}).get(str(TARGET_THREADS), {})
    ours = mlp.get("frameworks", {}).get("nnframe")
    train_mb = mlp.get("train_samples", 60_000) * _image_size() * 4 / 2**20
    peak = None if ours is None else {"median": ours["peak_mb"]["median"],
                                      "min": ours["peak_mb"]["min"],
                                      "max": ours["peak_mb"]["max"]}
    add(f"mlp epoch peak memory (limit: 2 x {train_mb:.0f} MB float32 training set + 100 MB)",
        {str(TARGET_THREADS): peak}, 2 * train_mb + 100, "MB")
    return found


def _image_size() -> int:
    size = 1
    for n in IMAGE_SHAPE:
        size *= n
    return size


# -- text ----------------------------------------------------------------------------------


def _ratio_text(stats: dict[str, Any] | None) -> str:
    if stats is None:
        return "-"
    text = f"{stats['median']:.2f}x"
    if stats["n"] > 1:
        text += f" ({stats['min']:.2f}-{stats['max']:.2f})"
    return text + (" noisy" if stats.get("noisy") else "")


def _range_text(stats: dict[str, float], scale: float = 1.0, digits: int = 2) -> str:
    text = f"{stats['median'] * scale:.{digits}f}"
    if stats["n"] > 1:
        text += f" ({stats['min'] * scale:.{digits}f}-{stats['max'] * scale:.{digits}f})"
    return text


def table_rows(results: dict[str, Any]) -> list[list[str]]:
    """Header and rows of the epoch table (plain strings, for text and Markdown)."""
    rows = [["workload", "threads", "framework", "epoch s (min-max)", "epoch CPU s",
             "nnframe / this, per round", "CPU ratio", "test acc.", "inference ms",
             "one sample us", "peak MB"]]
    for name, by_threads in results["summary"].items():
        for threads, entry in by_threads.items():
            for framework, stats in entry["frameworks"].items():
                ratio = entry["ratios"].get(framework, {})
                rows.append([
                    name, threads, LABELS[framework], _range_text(stats["epoch_s"]),
                    f"{stats['epoch_cpu_s']['median']:.2f}", _ratio_text(ratio.get("epoch_s")),
                    _ratio_text(ratio.get("epoch_cpu_s")).split(" (")[0],
                    f"{stats['accuracy']['median']:.4f}",
                    f"{stats['inference_s']['median'] * 1e3:.1f}",
                    f"{stats['latency_s']['median'] * 1e6:.0f}",
                    f"{stats['peak_mb']['median']:.0f}",
                ])
            floor = entry.get("floor")
            if floor:
                rows.append([name, threads, "GEMM floor, measured each round",
                             _range_text(floor["epoch_s"]), "",
                             "nnframe / floor " + _ratio_text(floor.get("nnframe_over_floor")),
                             "", "", f"{floor['inference_s']['median'] * 1e3:.1f}", "", ""])
    return rows


def step_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = [["parameters", "threads", "optimizer", "step ms (min-max)", "CPU ms",
             "/ PyTorch fused Adam, per round"]]
    for size, by_threads in results.get("steps", {}).items():
        for threads, entry in by_threads.items():
            for label, stats in entry["optimizers"].items():
                shown = label if label.startswith("torch") else f"nnframe {label}"
                rows.append([f"{size} ({entry['parameters']:,})", threads, shown,
                             _range_text(stats["wall_s"], 1e3, 3),
                             f"{stats['cpu_s']['median'] * 1e3:.3f}",
                             _ratio_text(stats.get("over_torch_fused"))])
    return rows


def target_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = [["target", f"{TARGET_THREADS} threads (min-max)", "1 thread", "1 thread, CPU",
             "limit", "holds"]]
    for t in results["targets"]:
        unit = "x" if t["unit"] == "x" else " MB"
        digits = 2 if t["unit"] == "x" else 0
        if t["value"] is None:
            value = "n/a"
        else:
            value = f"{t['value']:.{digits}f}{unit}"
            low, high = t["spread"]
            if low != high:
                value += f" ({low:.{digits}f}-{high:.{digits}f})"
            if t["noisy"]:
                value += " noisy"
        one = "-" if t["one_thread"] is None else f"{t['one_thread']:.{digits}f}{unit}"
        cpu = t.get("one_thread_cpu")
        one_cpu = "-" if cpu is None else f"{cpu:.{digits}f}{unit}"
        holds = {True: "yes", False: "NO", None: "not measured"}[t["holds"]]
        if t["noisy"] and t["holds"] is not None:
            holds += " (noisy)"  # the verdict of rounds that disagree
        rows.append([t["target"], value, one, one_cpu, f"{t['limit']:.{digits}f}{unit}", holds])
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
    blas = ", ".join(f"{b.get('internal_api')} {b.get('version')} ({b.get('architecture')})"
                     for b in info.get("blas", []) if b.get("internal_api") == "openblas")
    versions = info.get("versions", {})
    return (f"{info['cpu']}, {info['cores']} cores; threads {info['threads']}; numpy "
            f"{versions.get('numpy')} with {blas or 'its BLAS'}; torch {versions.get('torch')}; "
            f"scikit-learn {versions.get('scikit-learn')}; Python {info['python']}; load "
            f"average {info.get('load_average_start')} at the start, "
            f"{info.get('load_average_end')} at the end; CPU pressure (share of time some "
            f"task waited for a CPU) {_pressure_text(info)}")


def _pressure_text(info: dict[str, Any]) -> str:
    values = [v for v in info.get("cpu_pressure", []) if v is not None]
    if not values:
        return "not available"
    return (f"median {statistics.median(values):.0f}% (from {min(values):.0f}% to "
            f"{max(values):.0f}%) over the measurements")


def noisy_count(results: dict[str, Any]) -> int:
    return sum(1 for t in results["targets"] if t["noisy"])


def threads_lines(results: dict[str, Any]) -> list[str]:
    """``nnframe, strategy="threads" / PyTorch``, per workload and thread count."""
    lines = []
    for name, by_threads in results["summary"].items():
        for threads, entry in by_threads.items():
            for peer, ratio in entry.get("threads_ratios", {}).items():
                lines.append(f'{name}, {threads} threads: nnframe strategy="threads" / '
                             f"{LABELS[peer]}: epoch {_ratio_text(ratio['epoch_s'])}, CPU "
                             f"{_ratio_text(ratio['epoch_cpu_s'])}")
    return lines


def format_report(results: dict[str, Any]) -> str:
    parts = [machine_line(results["machine"]), "", _text_table(table_rows(results))]
    if results.get("steps"):
        parts += ["", _text_table(step_rows(results))]
    parts += ["", _text_table(target_rows(results))]
    threaded = threads_lines(results)
    if threaded:
        parts += ["", *threaded]
    noisy = noisy_count(results)
    if noisy:
        parts.append(f"{noisy} target(s) flagged noisy: their rounds disagree by more than "
                     f"{NOISY_SPREAD:.1f}x; rerun on a quieter machine before trusting them")
    if results.get("startup"):
        parts += ["", _text_table(startup_rows(results)),
                  "lazy plugin loading: " + ("ok" if results["startup"]["lazy_plugins_ok"]
                                             else "FAILED")]
    for name, why in results.get("skipped", {}).items():
        parts.append(f"{name}: {why}")
    return "\n".join(parts)


# -- chart ---------------------------------------------------------------------------------


def chart(results: dict[str, Any], path: Path) -> None:
    """Per thread count: epoch seconds per workload and framework (bars: the rounds' range,
    dashes: the GEMM floor), and the optimizer steps against PyTorch's fused Adam."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = results["summary"]
    thread_counts = sorted({t for by in summary.values() for t in by}, key=int)
    panels = len(thread_counts) + (1 if results.get("steps") else 0)
    fig, axes = plt.subplots(1, max(panels, 1), figsize=(5.2 * max(panels, 1), 4.2),
                             squeeze=False)
    for ax, threads in zip(axes[0], thread_counts, strict=False):
        names = [n for n in summary if threads in summary[n]]
        width = 0.8 / len(FRAMEWORK_ORDER)
        labelled = set()
        for j, name in enumerate(names):
            entry = summary[name][threads]
            present = [f for f in FRAMEWORK_ORDER if f in entry["frameworks"]]
            for i, framework in enumerate(present):
                s = entry["frameworks"][framework]["epoch_s"]
                ax.bar(j + (i - (len(present) - 1) / 2) * width, s["median"], width,
                       yerr=[[s["median"] - s["min"]], [s["max"] - s["median"]]], capsize=3,
                       color=COLORS[framework],
                       label=None if framework in labelled else LABELS[framework])
                labelled.add(framework)
            floor = entry.get("floor")
            if floor:
                ax.hlines(floor["epoch_s"]["median"], j - 0.45, j + 0.45, colors="black",
                          linestyles="dashed", linewidth=1,
                          label="GEMM floor" if j == 0 else None)
        ax.set_xticks(range(len(names)), names)
        ax.set_yscale("log")
        ax.set_title(f"one epoch (s), {threads} thread(s), log scale", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7)
    if results.get("steps"):
        ax = axes[0][-1]
        labels, values, colors = [], [], []
        for size, by_threads in results["steps"].items():
            for threads, entry in by_threads.items():
                for label, stats in entry["optimizers"].items():
                    ratio = stats.get("over_torch_fused")
                    if ratio is None:
                        continue
                    labels.append(f"{label.replace('torch adam ', 'torch ')} {size} {threads}t")
                    values.append(ratio["median"])
                    colors.append(COLORS["torch-default" if label.startswith("torch")
                                         else "nnframe"])
        ax.barh(range(len(values)), values, color=colors)
        ax.set_yticks(range(len(values)), labels, fontsize=7)
        ax.axvline(1.0, color="black", linewidth=1, linestyle="dashed")
        ax.set_title("optimizer step / PyTorch fused Adam", fontsize=10)
        ax.invert_yaxis()
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"nnframe vs PyTorch CPU: median of {results['options']['rounds']} round(s), "
                 f"{results['machine']['cpu']}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -- docs ----------------------------------------------------------------------------------


def markdown(results: dict[str, Any]) -> str:
    """docs/performance.md for this run."""
    info, options = results["machine"], results["options"]
    memory_methods = {s["memory_method"] for by in results["summary"].values()
                      for e in by.values() for s in e["frameworks"].values()}
    noisy = noisy_count(results)
    threaded = "; ".join(threads_lines(results)) or "not measured in this run"
    lines = [
        "# Performance",
        "",
        "This page compares nnframe with PyTorch (CPU) and scikit-learn on the reference",
        "workloads, trained for one epoch on the 60,000 MNIST training images, and times one",
        "optimizer step on its own. It is rewritten by every full run of `nox -s bench`;",
        "read the method below before the numbers, and the machine line for how busy the",
        "machine was.",
        "",
        "The workloads (`benchmarks/workloads.py`):",
        "",
        "- `seed-mlp`: the classic network of the original from-scratch tutorial,",
        "  784-100-50-10 with tanh after each layer, MSE on one-hot labels, SGD at 0.1, batch 32;",
        "- `mlp`: 784-256-128-10 with ReLU, softmax cross-entropy from logits, Adam at 1e-3,",
        "  batch 128;",
        "- `cnn`: two 3x3 convolutions (8 and 16 filters) with ReLU and 2x2 max pooling, then",
        "  dense 400-10; softmax cross-entropy, Adam at 1e-3, batch 64;",
        "- `resmlp`: dense 784-256, batch_norm, relu, a residual block (dense 256-256,",
        "  batch_norm, relu, dense 256-256, batch_norm), relu, dense 256-10; softmax",
        "  cross-entropy, Adam at 1e-3, batch 128 (PyTorch: `BatchNorm1d`);",
        "- `seq-mnist`: each image read as 28 time steps of 28 pixels by an LSTM of 128",
        "  units, then dense 128-10; softmax cross-entropy, Adam at 1e-3, batch 128",
        "  (PyTorch: `nn.LSTM` with its second bias frozen at zero, so that both train the",
        "  same parameters);",
        "- `seq-mnist-transformer`: each image read as 28 tokens of 28 pixels, dense 28-64,",
        "  a learned position per token, two transformer encoder blocks (4 heads,",
        "  feed-forward 128, no dropout), the mean over the tokens, dense 64-10; softmax",
        "  cross-entropy, Adam at 1e-3, batch 128 (PyTorch: `nn.TransformerEncoderLayer`).",
        "",
        "[![nnframe vs PyTorch CPU](img/performance.png)](img/performance.png)",
        "",
        "*Select the chart to see it at full size.*",
        "",
        f"## Latest run: median of {options['rounds']} interleaved rounds",
        "",
        "### Targets",
        "",
        _markdown_table(target_rows(results)),
        "",
    ]
    lines += ["The targets are set at two threads; the one-thread columns give the wall-time",
              "ratio and the process-CPU-time ratio, the steadier comparison on a busy",
              "machine.", ""]
    if noisy:
        lines += [f"**{noisy} of these comparisons are flagged noisy**: their rounds disagree",
                  f"by more than {NOISY_SPREAD:.1f}x (highest over lowest round), so the median",
                  "says less than its digits suggest.", ""]
    lines += [
        "### One epoch, and inference",
        "",
        _markdown_table(table_rows(results)),
        "",
        "- `nnframe / this, per round`: nnframe's time divided by that framework's in the",
        "  same round, median over the rounds (lowest and highest round in brackets);",
        "  `noisy` when the highest round is more than "
        f"{NOISY_SPREAD:.1f}x the lowest. `CPU ratio`: the",
        "  same for process CPU time (every thread of the process), which counts work",
        "  rather than waiting and is steadier on a shared machine.",
        "- `nnframe, strategy=\"threads\"` (at 2 threads and more): the same network trained",
        "  with each batch split over the threads (`fit(strategy=\"threads\")`, see the user",
        "  guide), its `nnframe / this` being plain nnframe's time over its own; against",
        f"  PyTorch: {threaded}.",
        "- The GEMM floor is the time NumPy's BLAS takes for the epoch's matrix products",
        "  alone, at the workload's real shapes (each batch size, forward, weight and input",
        "  gradients but the input gradient of the first layer), measured in every round at",
        "  that round's thread count: the best any framework built on these products can do",
        "  under that round's conditions.",
        "- `inference ms`: predicting the 10,000 test images; `one sample us`: predicting",
        "  one image at a time (median of 300 calls), the latency of serving requests.",
        "",
    ]
    if results.get("steps"):
        lines += [
            "### One optimizer step",
            "",
            _markdown_table(step_rows(results)),
            "",
            "One step over all the parameters of a dense network: 784-256-128-10 (the mlp",
            "workload) and 1000-4000-4000 (20M parameters, where a step crosses main",
            "memory). nnframe's optimizers update the network's flat buffers in cache-sized",
            "blocks (see `nnframe/speed/blocked.py`); PyTorch's Adam runs fused (its",
            "best CPU setting: one kernel), multi-tensor (`foreach=True`) and by default (on",
            "a CPU, a Python loop over the parameters).",
            "",
        ]
    if results.get("skipped"):
        lines += [f"- `{name}`: {why}" for name, why in results["skipped"].items()] + [""]
    lines += [
        "## Machine",
        "",
        machine_line(info) + ".",
        "",
        "The machine is shared with other work, so wall times are noisy. The rounds",
        "interleave the frameworks (the order rotates from round to round) so that each",
        "suffers the same disturbances; ratios are taken within a round; CPU times are",
        "shown beside wall times; and a comparison whose rounds disagree is flagged. With",
        "two threads on two busy cores, a process whose BLAS or OpenMP threads must wait",
        "for each other can lose a scheduler time slice per matrix product, which is why",
        "single rounds at two threads sometimes run several times slower than the median,",
        "in every framework; the one-thread figures are the steadier comparison.",
        "",
    ]
    if results.get("startup"):
        startup = results["startup"]
        lines += [
            "## Start-up",
            "",
            _markdown_table(startup_rows(results)),
            "",
            "`nnframe --help` imports no plugin module (discovery is lazy); `nnframe list`",
            "needs every plugin, so it imports them. Check: "
            + ("passed." if startup["lazy_plugins_ok"] else "**FAILED**."),
            "",
        ]
    lines += [
        "## Where nnframe's time goes",
        "",
        "- The matrix products are NumPy's (OpenBLAS). On the MLPs they are most of an",
        "  epoch; the GEMM floor row shows how much of the epoch is left to everything",
        "  else.",
        "- The optimizer step: NumPy has no fused multiply-add, so an Adam step is a dozen",
        "  ufunc passes where PyTorch's fused kernel makes one. nnframe runs them block by",
        "  block in the CPU's caches (and over the cores for large buffers, when one is",
        "  free), which halves a 20M-parameter step against whole-buffer passes; the step",
        "  table shows what remains against PyTorch's fused Adam. Keeping",
        "  Adam's moments pre-scaled (m/(1 - b1), v/(1 - b2)) would save two of the twelve",
        "  passes, 5-14% of a step here, but a model file keeps the moments as PyTorch has them,",
        "  and converting to and from that layout changes the last bit of about one moment in",
        "  seven: a resumed run would stop continuing exactly, so nnframe keeps the twelve.",
        "- seq-mnist (profiled at 1 thread, 120 batches): the LSTM's 28 time steps are",
        "  a Python loop of small products, (128, 128) by (128, 512), and gate",
        "  arithmetic on (128, 512) arrays. The backward steps take 44% of the epoch,",
        "  the forward steps 44% (a fifth of that in the sigmoid and tanh), the input",
        "  projection of all steps at once 10% and the weight gradients 5%. The gate",
        "  arrays (65,536 elements) are below the size from which nnframe hands",
        "  element-wise work to a second thread, while PyTorch's OpenMP threads split",
        "  them: the likely reason PyTorch gains more from a second thread here.",
        "  What closes that gap is splitting each batch over the threads",
        "  (`fit(strategy=\"threads\")`) with nnframe-numba installed, whose gate",
        "  arithmetic of a step is one compiled call that holds no GIL (its README has",
        "  the epochs against PyTorch's); NumPy's dozen calls a step take the GIL in",
        "  turn, and split so they stay at about 1.4 times PyTorch's time.",
        "- cnn (profiled at 1 thread, CPU time, 40 batches): of the layers' own loops,",
        "  routing each max-pool window's gradient to its arg-max takes most, about 15% of a",
        "  batch, then im2col's copies (8%), col2im (7%) and relu's backward (6%). Max-pool's",
        "  backward, im2col and col2im are named kernels of nnframe-conv, as the LSTM's and the",
        "  GRU's gate arithmetic of a step is of nnframe-recurrent; nnframe-numba compiles those",
        "  where that pays (its README has the figures). The tables on this page run NumPy's.",
        "- Training runs backward only down to the first layer with parameters, and asks",
        "  that layer for its parameter gradients alone (`backward_parameters`): nothing",
        "  needs dE/dX of the input images, a quarter of the MLP's matrix work.",
        "- Parameters and gradients live in one buffer each (a `ParameterGroup`); the layers",
        "  hold views, so the optimizer updates every parameter with one set of ufunc calls.",
        "- Shuffled batches are copied into reused buffers; inputs are converted and checked",
        "  once per `fit` (a flatten of contiguous images is a view); float32 throughout.",
        "- Element-wise work (relu and tanh, the dense layer's bias, im2col, col2im and",
        "  max-pooling in nnframe-conv, the optimizer step) is split over the cores by",
        "  `nnframe.speed.parallel` where the arrays are large enough for that to pay (from",
        "  2 x 131,072 elements: a cnn training batch, a prediction chunk; never the mlp's",
        "  training batches) and only while a core is free (Linux's CPU pressure below",
        "  50%): on a machine whose cores are all taken, handing work to a second thread",
        "  made it slower. Softmax and cross-entropy over 10 classes are too small to pay.",
        "  `NNFRAME_NUM_THREADS` sets the number of threads, and nnframe never uses more",
        "  than NumPy's BLAS may (threadpoolctl's limits hold).",
        "",
        "## Instructions per batch",
        "",
        "The instructions a training batch executes repeat from run to run where wall time on",
        "a shared machine does not, so changes to the Python around the arithmetic are",
        "checked by counting them. `benchmarks/instructions.py` runs each source tree under",
        "callgrind (valgrind), counting only the call to `fit` (instrumentation switched on",
        "and off around it through a three-line C helper it compiles), once for K batches and",
        "once for 2K; the difference over K is one batch in the steady state, without",
        "start-up, `fit`'s checks and the checked first batch. Both trees run with",
        "`NNFRAME_KERNELS=reference`, one BLAS thread and `PYTHONHASHSEED=0`, on synthetic",
        "data. The core's restructuring (into `nnframe/core/`, `nnframe/speed/` and",
        "`nnframe/modelfile/`) against the commit before it, a21a2ae:",
        "",
        "| workload | K | before (a21a2ae) | after | after / before |",
        "| --- | ---: | ---: | ---: | ---: |",
        "| tiny | 400 | 508,303 | 523,444 | 1.030 |",
        "| seed-mlp | 50 | 2,858,387 | 2,862,655 | 1.001 |",
        "| mlp | 5 | 21,553,446 | 21,621,066 | 1.003 |",
        "| cnn | 3 | 40,272,655 | 40,738,605 | 1.012 |",
        "",
        "`tiny` is 8-16-relu-4 with cross-entropy and Adam at batch 32: almost nothing but the",
        "per-batch Python. The first count of the restructured core gave 1,031,865 instructions",
        "per batch on tiny (2.03x): every batch of the first epoch ran the first batch's layer",
        "checks, because the loop compared the batch number with a training state it re-made",
        "after each batch, and `attrs.evolve`, which re-made it, took 30,000 instructions a",
        "call. Both are fixed: the checks run on the first batch again, and the state is built",
        "by its constructor (5,400). The 3% left on tiny (15,000 instructions) is Python in the",
        "restructured loop; on the real networks it is 0.1-1.2%.",
        "",
        "These take minutes per workload under callgrind, so they are shown, not run here",
        "(`/tmp/before` is any folder outside the checkout):",
        "",
        "<!-- skip: next -->",
        "```bash",
        "git worktree add /tmp/before a21a2ae",
        "python -m benchmarks.instructions /tmp/before .   # tiny, seed-mlp, mlp, cnn",
        "python -m benchmarks.instructions /tmp/before . --workloads tiny --keep cg",
        "callgrind_annotate cg/callgrind.before.tiny.800   # per function",
        "```",
        "",
        "## Measured and not kept",
        "",
        "- numexpr for the optimizer step: about 4.5x slower than NumPy's passes here",
        "  (Adam at 235k parameters, one thread: 2.2 ms against 0.5 ms).",
        "- numba: a fused, parallel Adam kernel ran about 5x faster than NumPy at 235k",
        "  parameters (0.09 ms), but every new process pays 0.3-0.45 s to import numba and",
        "  0.4 s to load the cached kernel (1.5 s to compile it), as much as a whole mlp",
        "  epoch, for a dependency of some 50 MB: not added.",
        "- Blocks of 16,384 elements (L2-sized) for the optimizer step: slower than 65,536",
        "  at every size, from NumPy's per-call overhead (see `nnframe/speed/blocked.py`).",
        "- Splitting element-wise work over two threads while other processes kept both",
        "  cores busy: 5-65% slower than one thread, hence the CPU-pressure gate above.",
        "- Splitting one layer's element-wise passes over two threads on a quiet machine:",
        "  no faster here. A ReLU or tanh over a cnn batch's 346,112 elements took 137-165",
        "  us on one thread and 135-160 us split over two, where a 1500 x 1500 matrix",
        "  product ran twice as fast. Splitting whole batches does pay",
        "  (`strategy=\"threads\"`): two halves of a cnn batch through the whole network",
        "  took 4.7-5.4 ms side by side, against 7.1-7.6 ms for the batch on one thread.",
        "- A shorter spin for OpenBLAS's idle threads. At 2 threads nnframe's process CPU",
        "  time is about twice its wall time: after each matrix product OpenBLAS's second",
        "  thread spins (about 2^28 clock cycles, its default) and holds the core that",
        "  nnframe's own element-wise threads would use. `OPENBLAS_THREAD_TIMEOUT=18` (set",
        "  before NumPy is imported) made the cnn epoch at 2 threads 35% faster (median of",
        "  3 interleaved runs on 19,200 images: 2.48 s against 3.80 s) but the mlp 18%",
        "  slower (1.66 s against 1.41 s), whose products follow each other closely; 4 and",
        "  21 gave the same trade. No default suits both, so nnframe sets none; for",
        "  convolutional networks at 2 or more threads, try it.",
        "",
        "## Method",
        "",
        "- Each measurement runs in a fresh Python process: it loads the data, builds the",
        "  network from the one definition in `benchmarks/workloads.py` (Glorot-uniform",
        "  weights and zero biases in nnframe and PyTorch), times one shuffled epoch (wall",
        "  and process CPU time), predicts the 10,000 test images once (accuracy) and five",
        "  more times (the median counts), then predicts 300 single images.",
        "- Every workload runs at 1 and 2 threads: numpy's BLAS, nnframe's own threads and",
        "  scikit-learn through threadpoolctl, `torch.set_num_threads` for PyTorch.",
        "- nnframe: `Network.fit(x, y, epochs=1, batch_size=...)` on the (N, 28, 28, 1) images.",
        "  PyTorch: the usual loop (`randperm`, index the batch, `zero_grad`, `backward`,",
        "  `step`) on `torch.from_numpy` views, with `torch.optim.Adam(..., fused=True)` (or",
        "  `SGD(..., fused=True)`), its best CPU setting, and again with the default",
        "  settings. scikit-learn: `MLPClassifier(hidden_layer_sizes=(256, 128),",
        "  solver='adam', alpha=0, batch_size=128, max_iter=1).fit(X, y)`: one epoch.",
        "- The optimizer steps: one process per framework, size and thread count per round,",
        "  cycling through its optimizers; the median step of each.",
        "- OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which some machines set for old OpenBLAS",
        "  builds, are removed from the measuring processes' environment.",
        "- Peak memory (" + ", ".join(sorted(memory_methods)) + "): the resident set's",
        "  high-water mark (VmHWM), reset just before the epoch through /proc/self/clear_refs,",
        "  minus the resident size before the data were loaded.",
        "",
        "## Rerun",
        "",
        "These commands take an hour or more, so the docs tests show them without running them:",
        "",
        "<!-- skip: next -->",
        "```bash",
        "nox -s bench                     # 5 rounds at 1 and 2 threads: this page",
        "nox -s bench -- --rounds 3 --workloads mlp,cnn --no-steps",
        "nox -s bench -- --threads 1      # one thread count only",
        "nox -s bench -- --quick          # 1 round on 10,000 images, no docs",
        "nox -s bench -- --report-only benchmarks/results/latest.json  # redraw only",
        "python -m benchmarks.threads     # does splitting over 2 threads pay here?",
        "```",
        "",
        "The session installs nnframe, every plugin under `plugins/`, `torch==2.13.0` (a CPU",
        "build), scikit-learn, matplotlib and threadpoolctl in its own virtualenv, and reads",
        "MNIST from `NNFRAME_DATA_DIR` (else it is downloaded once). The raw results are in",
        "`benchmarks/results/latest.json`.",
        "",
    ]
    return "\n".join(lines)
