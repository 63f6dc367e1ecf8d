"""Start-up time of the ``nnframe`` command next to ``python -c "import numpy"``, and which
plugin modules each command has imported when it exits.

``nnframe --help`` and ``--version`` need no plugin, so they must import none (lazy
discovery); ``nnframe list`` needs every plugin, so it imports them, and only then.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BUILTIN_PLUGIN = "nnframe.builtin_plugin"


def nnframe_command() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m nnframe``."""
    script = Path(sys.executable).parent / "nnframe"
    if script.exists():
        return [sys.executable, str(script)]
    found = shutil.which("nnframe")
    return [sys.executable, found] if found else [sys.executable, "-m", "nnframe"]


def commands() -> dict[str, tuple[list[str], list[str] | None]]:
    """Label -> (command line, the nnframe arguments when it is the nnframe command)."""
    nnframe = nnframe_command()
    return {
        'python -c "import numpy"': ([sys.executable, "-c", "import numpy"], None),
        'python -c "import nnframe"': ([sys.executable, "-c", "import nnframe"], None),
        "nnframe --help": ([*nnframe, "--help"], ["--help"]),
        "nnframe list": ([*nnframe, "list"], ["list"]),
    }


def plugin_modules() -> set[str]:
    """The modules that the installed plugins' entry points name, and the built-in plugin."""
    modules = {BUILTIN_PLUGIN}
    for entry_point in importlib.metadata.entry_points(group="nnframe"):
        modules.add(entry_point.module)
    return modules


def imported_modules(args: list[str], env: dict[str, str] | None = None) -> set[str]:
    """Every module in ``sys.modules`` when ``nnframe ARGS`` exits (the console script's
    entry point, run in a fresh interpreter). ``-X importtime`` would miss the modules
    that importlib.import_module loads, as entry points are."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "modules.json"
        code = ("import atexit, json, sys\n"
                f"atexit.register(lambda: open({str(out)!r}, 'w').write("
                "json.dumps(sorted(sys.modules))))\n"
                f"sys.argv = ['nnframe', *{args!r}]\n"
                "from nnframe.cli import main\n"
                "main()\n")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                env=env, check=False)
        if result.returncode != 0 or not out.exists():
            raise RuntimeError(f"nnframe {' '.join(args)} exited {result.returncode}: "
                               f"{result.stderr}")
        return set(json.loads(out.read_text()))


def time_command(command: list[str], repeats: int, env: dict[str, str]) -> list[float]:
    subprocess.run(command, capture_output=True, env=env, check=True)  # warm the file cache
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, env=env, check=True)
        runs.append(time.perf_counter() - start)
    return runs


def measure(repeats: int = 5, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Median start-up seconds per command, and the plugin modules each one imported."""
    env = dict(os.environ if env is None else env)
    plugins = plugin_modules()
    results: dict[str, Any] = {"commands": {}, "plugin_modules": sorted(plugins)}
    for label, (command, nnframe_args) in commands().items():
        runs = time_command(command, repeats, env)
        entry: dict[str, Any] = {"median_s": statistics.median(runs), "runs": runs}
        if nnframe_args is not None:
            imported = imported_modules(nnframe_args, env)
            entry["plugin_modules_imported"] = sorted(imported & plugins)
        results["commands"][label] = entry
    help_imports = results["commands"]["nnframe --help"]["plugin_modules_imported"]
    list_imports = results["commands"]["nnframe list"]["plugin_modules_imported"]
    results["lazy_plugins_ok"] = not help_imports and BUILTIN_PLUGIN in list_imports
    return results
