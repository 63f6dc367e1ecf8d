"""``python -m benchmarks.instructions TREE [TREE ...]``: instructions per training batch,
counted by callgrind, for each source tree (a checkout of nnframe), side by side.

Wall time on a shared machine varies by tens of percent from minute to minute; the number
of instructions a batch executes does not, so it is how a change to the Python around the
arithmetic (the training loop, the layers' bookkeeping) is measured. For each tree and
workload, two fresh processes run under ``valgrind --tool=callgrind``: one trains ``K``
batches and the other ``2K``, on the same synthetic data and seed. Callgrind instruments
only the call to ``fit`` (``--instr-atstart=no``, then ``CALLGRIND_START_INSTRUMENTATION``
and ``CALLGRIND_STOP_INSTRUMENTATION`` from a three-line C library compiled on the spot
with the system's ``valgrind/callgrind.h``, called through ctypes), so start-up costs no
instructions and no noise; the difference of the two counts over ``K`` is the
instructions of one batch in the steady state, with fit's checks and the first batch
subtracted out. A run without valgrind first writes each tree's ``.pyc`` files, so that
neither counted run compiles any. The trees are imported from
their own sources (``PYTHONPATH=TREE:TREE/plugins/nnframe-conv``), with
``NNFRAME_KERNELS=reference``, one BLAS and one nnframe thread and ``PYTHONHASHSEED=0``,
so the counts repeat to a few parts in a million.

Workloads: ``tiny`` (8-16-relu-4, cross-entropy, Adam, batch 32: almost nothing but the
per-batch Python) and ``seed-mlp``, ``mlp`` and ``cnn`` of `benchmarks.workloads`.
``--keep DIR`` keeps the callgrind files, for ``callgrind_annotate`` (per function).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.workloads import WORKLOADS, LayerSpec, Workload, _layers

TINY = Workload(
    "tiny", _layers(("dense", 16), ("relu",), ("dense", 4)), loss="cross_entropy",
    optimizer="adam", learning_rate=1e-3, batch_size=32, peers=(), input_shape=(8,),
    description="8-16-relu-4, cross-entropy, Adam 1e-3, batch 32")
CHOICES: dict[str, Workload] = {"tiny": TINY, **{name: WORKLOADS[name]
                                                 for name in ("seed-mlp", "mlp", "cnn")}}
DEFAULT_BATCHES = {"tiny": 400, "seed-mlp": 100, "mlp": 10, "cnn": 6}

#: The child: only nnframe's public API, so that any tree runs it. argv: the request.
CHILD = """\
import ctypes, gc, json, sys
import numpy as np
import nnframe
request = json.loads(sys.argv[1])
counter = ctypes.CDLL(request["counter"]) if request["counter"] else None
def build(specs):
    built = []
    for kind, args in specs:
        if kind == "dense":
            built.append(nnframe.layer("dense", output_size=args[0]))
        else:
            built.append(nnframe.layer(kind, *args))
    return built
net = nnframe.Network(build(request["layers"]))
net.use(request["loss"], nnframe.optimizer(request["optimizer"],
                                           learning_rate=request["learning_rate"]))
net.build(tuple(request["input_shape"]), seed=0)
size, batches = request["batch_size"], request["batches"]
rng = np.random.default_rng(0)
samples = size * request["most_batches"]  # the same data in both runs
x = rng.random((samples, *request["input_shape"]), dtype=np.float32)
labels = rng.integers(0, request["classes"], samples)
y = np.eye(request["classes"], dtype=np.float32)[labels] if request["one_hot"] else labels
n = size * batches
x, y = x[:n], y[:n]
gc.collect()  # the garbage of start-up is not the batches'
if counter:
    counter.nnframe_count_start()
net.fit(x, y, epochs=1, batch_size=size, seed=0, verbose=0)
if counter:
    counter.nnframe_count_stop()
print(json.dumps({"nnframe": nnframe.__file__}))
"""


COUNTER_C = """\
#include <valgrind/callgrind.h>
void nnframe_count_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void nnframe_count_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; }
"""


def build_counter(folder: Path) -> Path:
    """The shared library whose two functions start and stop callgrind's counting."""
    source, library = folder / "count.c", folder / "count.so"
    source.write_text(COUNTER_C)
    done = subprocess.run(["cc", "-O1", "-shared", "-fPIC", "-o", str(library), str(source)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError("could not compile the callgrind start/stop library (needs a C "
                           "compiler and valgrind's headers, valgrind/callgrind.h):\n"
                           + done.stderr)
    return library


def _flat(layers: tuple[LayerSpec, ...]) -> list[tuple[str, tuple]]:
    if any(spec.inner for spec in layers):
        raise ValueError("composite layers are not counted here")
    return [(spec.kind, spec.args) for spec in layers]


def child_env(tree: Path) -> dict[str, str]:
    """The environment that makes a child import nnframe (and nnframe-conv) from ``tree``,
    deterministically."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "PYTHONPATH")}
    env.update({"PYTHONPATH": os.pathsep.join([str(tree), str(tree / "plugins" /
                                                                "nnframe-conv")]),
                "NNFRAME_KERNELS": "reference", "OPENBLAS_NUM_THREADS": "1",
                "OMP_NUM_THREADS": "1", "NNFRAME_NUM_THREADS": "1",
                "PYTHONHASHSEED": "0"})
    return env


def count(tree: Path, workload: Workload, batches: int, most: int,
          out_file: Path | None, counter: Path) -> int:
    """Instructions (callgrind's Ir) of one child's ``fit`` of ``batches`` batches; with
    no ``out_file``, run it without valgrind (to write the .pyc files) and return 0."""
    request = {"counter": str(counter) if out_file else "",
               "layers": _flat(workload.layers), "loss": workload.loss,
               "optimizer": workload.optimizer, "learning_rate": workload.learning_rate,
               "input_shape": list(workload.input_shape), "batch_size": workload.batch_size,
               "batches": batches, "most_batches": most, "classes": 10 if workload.name !=
               "tiny" else 4, "one_hot": workload.one_hot_targets}
    command = [sys.executable, "-c", CHILD, json.dumps(request)]
    if out_file:
        command[:0] = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                       f"--callgrind-out-file={out_file}"]
    done = subprocess.run(command, capture_output=True, text=True, env=child_env(tree),
                          cwd=tempfile.gettempdir(), check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{workload.name} in {tree} exited {done.returncode}:\n"
                           + "\n".join(done.stderr.splitlines()[-15:]))
    imported = json.loads(done.stdout.strip().splitlines()[-1])["nnframe"]
    if not Path(imported).resolve().is_relative_to(tree.resolve()):
        raise RuntimeError(f"the child imported nnframe from {imported}, not from {tree}")
    if out_file is None:
        return 0
    match = re.search(r"^totals:\s*(\d+)", out_file.read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no instruction total in {out_file}")
    return int(match.group(1))


def per_batch(tree: Path, workload: Workload, batches: int, keep: Path,
              counter: Path) -> dict[str, Any]:
    """Instructions of one batch: (I(2K) - I(K)) / K."""
    stem = f"{tree.name}.{workload.name}"
    count(tree, workload, 1, 2 * batches, None, counter)  # .pyc files, lazy imports
    once = count(tree, workload, batches, 2 * batches, keep / f"callgrind.{stem}.{batches}",
                 counter)
    twice = count(tree, workload, 2 * batches, 2 * batches,
                  keep / f"callgrind.{stem}.{2 * batches}", counter)
    return {"batches": batches, "total_k": once, "total_2k": twice,
            "per_batch": (twice - once) / batches}


def report(results: dict[str, dict[str, dict[str, Any]]], trees: list[str]) -> str:
    first = trees[0]
    header = f"{'workload':<10}" + "".join(f"{Path(t).name[:22]:>24}" for t in trees)
    header += "".join(f"{'ratio ' + str(i + 2) + '/1':>12}" for i in range(len(trees) - 1))
    lines = ["instructions per batch (callgrind Ir, steady state: (I(2K) - I(K)) / K)",
             header]
    for workload, by_tree in results.items():
        row = f"{workload:<10}" + "".join(f"{by_tree[t]['per_batch']:>24,.0f}" for t in trees)
        row += "".join(f"{by_tree[t]['per_batch'] / by_tree[first]['per_batch']:>12.4f}"
                       for t in trees[1:])
        lines.append(row)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trees", nargs="+", type=Path,
                        help="checkouts of nnframe; ratios are to the first")
    parser.add_argument("--workloads", default=",".join(CHOICES),
                        help="comma-separated subset of " + ", ".join(CHOICES))
    parser.add_argument("--batches", type=int, default=None,
                        help="K (default per workload: "
                             + ", ".join(f"{k} {v}" for k, v in DEFAULT_BATCHES.items()) + ")")
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep the callgrind output files in this folder")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    unknown = [n for n in names if n not in CHOICES]
    if unknown or not names:
        parser.error(f"--workloads: unknown {', '.join(unknown) or '(none)'}; choose from "
                     + ", ".join(CHOICES))
    args.trees = [tree.resolve() for tree in args.trees]
    for tree in args.trees:
        if not (tree / "nnframe" / "__init__.py").is_file():
            parser.error(f"{tree} is not an nnframe checkout (no nnframe/__init__.py)")
    results: dict[str, dict[str, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        keep = args.keep or Path(scratch)
        keep.mkdir(parents=True, exist_ok=True)
        counter = build_counter(Path(scratch))
        for name in names:
            results[name] = {}
            for tree in args.trees:  # trees alternate within each workload
                batches = args.batches or DEFAULT_BATCHES[name]
                results[name][str(tree)] = per_batch(tree, CHOICES[name], batches, keep,
                                                     counter)
                print(f"{name} {tree}: {results[name][str(tree)]['per_batch']:,.0f}",
                      file=sys.stderr)
    print(report(results, [str(t) for t in args.trees]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
