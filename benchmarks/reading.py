"""Reading speed of the user's files: ``python -m benchmarks.reading``.

Writes a numeric CSV of about 100 MB (float columns, a header line) and the same table
as Parquet into a temporary folder, then times, interleaved over rounds (the order rotates
each round), reading it whole into memory with:

- nnframe's ``csv`` reader (NumPy's C ``loadtxt``, the path that needs no extra);
- ``pandas.read_csv`` (C engine, default settings);
- ``pyarrow.csv.read_csv`` (multi-threaded);
- nnframe's ``parquet`` reader and ``pyarrow.parquet.read_table``.

It reports rows per second (median over rounds) from wall time, with the CPU time of the
process beside it (``time.process_time``: all threads; more CPU than wall means threads
ran in parallel), and the ratio of each reader to nnframe's csv reader, paired by round.
Results go to stdout and ``benchmarks/results/reading.json``. Needs pandas and pyarrow.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
COLUMNS = 20


def write_files(folder: Path, megabytes: float, seed: int = 0) -> tuple[Path, Path, int]:
    """A numeric CSV of about ``megabytes`` MB and the same table as Parquet."""
    import pyarrow.csv
    import pyarrow.parquet as pq

    row_bytes = COLUMNS * 8.4  # "%.6g" of normal(0, 100): 8.4 characters with the comma
    rows = int(megabytes * 1e6 / row_bytes)
    values = np.random.default_rng(seed).normal(size=(rows, COLUMNS)) * 100.0
    names = [f"x{i}" for i in range(COLUMNS - 1)] + ["target"]
    csv_path = folder / "numbers.csv"
    np.savetxt(csv_path, values, fmt="%.6g", delimiter=",", header=",".join(names),
               comments="")
    parquet_path = folder / "numbers.parquet"  # the very numbers of the CSV
    pq.write_table(pyarrow.csv.read_csv(csv_path), parquet_path)
    return csv_path, parquet_path, rows


def readers(csv_path: Path, parquet_path: Path) -> dict[str, Callable[[], Any]]:
    import pandas as pd
    import pyarrow.csv
    import pyarrow.parquet

    import nnframe

    csv_reader = nnframe.dataset("csv", path=csv_path, target="target")
    parquet_reader = nnframe.dataset("parquet", path=parquet_path, target="target")
    return {
        "nnframe csv": csv_reader.read,
        "pandas.read_csv": lambda: pd.read_csv(csv_path),
        "pyarrow.csv.read_csv": lambda: pyarrow.csv.read_csv(csv_path),
        "nnframe parquet": parquet_reader.read,
        "pyarrow.parquet.read_table": lambda: pyarrow.parquet.read_table(parquet_path),
    }


def measure(rounds: int, megabytes: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        csv_path, parquet_path, rows = write_files(Path(folder), megabytes)
        size = csv_path.stat().st_size
        functions = readers(csv_path, parquet_path)
        names = list(functions)
        wall: dict[str, list[float]] = {name: [] for name in names}
        cpu: dict[str, list[float]] = {name: [] for name in names}
        for name in names:  # warm the page cache and the imports once
            functions[name]()
        for round_index in range(rounds):
            order = names[round_index % len(names):] + names[:round_index % len(names)]
            for name in order:
                start_wall, start_cpu = time.perf_counter(), time.process_time()
                functions[name]()
                wall[name].append(time.perf_counter() - start_wall)
                cpu[name].append(time.process_time() - start_cpu)
    base = "nnframe csv"
    results = {}
    for name in names:
        ratios = [b / w for b, w in zip(wall[base], wall[name], strict=True)]
        results[name] = {
            "rows_per_second": rows / statistics.median(wall[name]),
            "wall_s": statistics.median(wall[name]),
            "cpu_s": statistics.median(cpu[name]),
            "speed_vs_nnframe_csv": statistics.median(ratios),
            "ratio_range": [min(ratios), max(ratios)],
        }
    return {"rows": rows, "columns": COLUMNS, "csv_bytes": size, "rounds": rounds,
            "results": results}


def table(report: dict[str, Any]) -> str:
    lines = [f"{report['rows']:,} rows x {report['columns']} float columns, CSV "
             f"{report['csv_bytes'] / 1e6:.0f} MB, median of {report['rounds']} rounds",
             f"{'reader':<28} {'rows/s':>12} {'wall s':>8} {'CPU s':>8} "
             f"{'x nnframe csv':>14}"]
    for name, result in report["results"].items():
        low, high = result["ratio_range"]
        lines.append(f"{name:<28} {result['rows_per_second']:>12,.0f} "
                     f"{result['wall_s']:>8.2f} {result['cpu_s']:>8.2f} "
                     f"{result['speed_vs_nnframe_csv']:>7.2f} ({low:.2f}-{high:.2f})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reading",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--megabytes", type=float, default=100.0,
                        help="size of the CSV file (default 100)")
    args = parser.parse_args(argv)
    report = measure(args.rounds, args.megabytes)
    print(table(report))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reading.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
