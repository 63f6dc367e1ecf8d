"""What the benchmark ran on: CPU, cores, load, library versions (BLAS via threadpoolctl)."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def describe() -> dict[str, Any]:
    """The machine and the versions of everything measured (BLAS comes from `measure`)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {name: version(name) for name in
                     ("nnframe", "nnframe-conv", "numpy", "torch", "scikit-learn")},
        "load_average_start": load_average(),
    }


def cpu_pressure() -> float | None:
    """Linux's CPU pressure over the last 10 s: the share of time (percent) in which some
    runnable task waited for a CPU. Near 0 on an idle machine; None where unavailable."""
    try:
        for line in Path("/proc/pressure/cpu").read_text().splitlines():
            if line.startswith("some"):
                fields = dict(part.split("=") for part in line.split()[1:])
                return float(fields["avg10"])
    except (OSError, KeyError, ValueError):
        pass
    return None
