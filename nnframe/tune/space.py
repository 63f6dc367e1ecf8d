"""The ``[tune]`` table of a config: what to search, what to optimise, when to stop a trial.

Read and checked without Optuna (a config error is reported before anything is imported
or trained); `suggest` asks an Optuna trial for one value of a range.

    [tune]
    metric = "val_accuracy"
    direction = "maximize"
    pruner = "median"
    [tune.space]
    "optimizer.learning_rate" = { type = "log_uniform", low = 1e-4, high = 1e-1 }
    "model.layers[0].output_size" = { type = "choice", values = [32, 64, 128] }
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any

import attrs

from nnframe.config import fields
from nnframe.config.problems import Problems

TUNE_KEYS = ("metric", "direction", "pruner", "seed", "space")
RANGE_TYPES = ("log_uniform", "uniform", "int", "choice")
PRUNERS = ("median", "percentile", "successive_halving", "hyperband", "none")
EXAMPLE = ('[tune.space] "optimizer.learning_rate" = { type = "log_uniform", low = 1e-4, '
           'high = 1e-1 }')
_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)((?:\[\d+\])*)")


@attrs.frozen
class Range:
    """One searched config value: ``path`` (``model.layers[1].output_size``) and its range."""

    path: str
    type: str  #: log_uniform, uniform, int or choice
    low: float | int | None = None
    high: float | int | None = None
    step: int | None = None  #: for int: the spacing of the values (default 1)
    values: tuple[Any, ...] = ()  #: for choice

    def describe(self) -> str:
        if self.type == "choice":
            return f"{self.path} in {list(self.values)}"
        return f"{self.path} {self.type} [{self.low:g}, {self.high:g}]"


@attrs.frozen
class Pruner:
    """An Optuna pruner by name (``median``, ``hyperband``, ...) and its arguments."""

    name: str = "median"
    arguments: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class TuneSpec:
    """A checked ``[tune]`` table."""

    metric: str
    direction: str
    space: tuple[Range, ...]
    pruner: Pruner = Pruner()
    seed: int | None = None


def parse_tune(raw: dict[str, Any], source: str) -> TuneSpec:
    """The config's ``[tune]`` table, checked against the config (every path must reach a
    value or a table that takes it); `ConfigFileError` lists every problem."""
    problems = Problems(source)
    table = fields.table(problems, raw, "", "tune", True,
                         '[tune] metric = "val_accuracy" direction = "maximize"')
    if table is None:
        problems.raise_if_any()
    fields.check_keys(problems, table, "tune", TUNE_KEYS)
    metric = fields.string(problems, table, "tune", "metric", "val_loss")
    direction = fields.string(problems, table, "tune", "direction",
                              _default_direction(metric or ""),
                              choices=("maximize", "minimize"))
    seed = fields.integer(problems, table, "tune", "seed", None, minimum=0)
    pruner = _pruner(problems, table)
    space = fields.table(problems, table, "tune", "space", True, EXAMPLE)
    ranges = []
    if space is not None and not space:
        problems.add("tune.space", f"is empty; give at least one range, for example {EXAMPLE}")
    for path, spec in (space or {}).items():
        found = _range(problems, path, spec)
        if found is not None and _reachable(problems, raw, path):
            ranges.append(found)
    problems.raise_if_any()
    return TuneSpec(metric=metric, direction=direction, space=tuple(ranges), pruner=pruner,
                    seed=seed)


def _default_direction(metric: str) -> str:
    """Losses and errors go down; accuracies and scores go up (as EarlyStopping reads)."""
    return "minimize" if any(w in metric for w in ("loss", "error", "mae", "mse")) else \
        "maximize"


def _pruner(problems: Problems, table: dict[str, Any]) -> Pruner:
    value = table.get("pruner", "median")
    if isinstance(value, str):
        value = {"type": value}
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        problems.add("tune.pruner", f"must be a pruner name ({', '.join(PRUNERS)}) or a table "
                     f"with a type and its arguments, got {fields.shown(value)}")
        return Pruner()
    name = value["type"]
    if name not in PRUNERS:
        problems.add("tune.pruner", f"unknown pruner {name!r}{fields.suggestion(name, PRUNERS)}"
                     f"; choose one of {', '.join(PRUNERS)}")
        return Pruner()
    return Pruner(name, {k: v for k, v in value.items() if k != "type"})


def _range(problems: Problems, path: str, spec: Any) -> Range | None:
    key = f'tune.space."{path}"'
    if not isinstance(spec, dict):
        problems.add(key, f"must be a table with a type ({', '.join(RANGE_TYPES)}), got "
                     f"{fields.shown(spec)}")
        return None
    kind = fields.string(problems, spec, key, "type", choices=RANGE_TYPES)
    if kind is None:
        return None
    if kind == "choice":
        fields.check_keys(problems, spec, key, ("type", "values"))
        values = spec.get("values")
        if (not isinstance(values, list) or not values or not all(
                isinstance(v, (bool, int, float, str)) for v in values)):
            problems.add(f"{key}.values", "must be a non-empty array of numbers, strings or "
                         f"booleans, got {fields.shown(values)}")
            return None
        return Range(path, kind, values=tuple(values))
    fields.check_keys(problems, spec, key, ("type", "low", "high", "step") if kind == "int"
                      else ("type", "low", "high"))
    if kind == "int":
        low = fields.integer(problems, spec, key, "low")
        high = fields.integer(problems, spec, key, "high")
        step = fields.integer(problems, spec, key, "step", 1, minimum=1)
        if low is None or high is None or step is None:
            return None
        if high < low:
            problems.add(key, f"high ({high}) is below low ({low})")
            return None
        return Range(path, kind, low, high, step=step)
    low = fields.number(problems, spec, key, "low", low=-math.inf, high=math.inf,
                        low_inclusive=False, high_inclusive=False)
    high = fields.number(problems, spec, key, "high", low=-math.inf, high=math.inf,
                         low_inclusive=False, high_inclusive=False)
    if low is None or high is None:
        return None
    if not low < high:
        problems.add(key, f"low ({low:g}) must be below high ({high:g})")
        return None
    if kind == "log_uniform" and low <= 0:
        problems.add(key, f"a log_uniform range needs low > 0, got {low:g}")
        return None
    return Range(path, kind, low, high)


def split_path(path: str) -> list[str | int] | None:
    """``model.layers[1].output_size`` as ``["model", "layers", 1, "output_size"]``; None
    for a path that is not written that way."""
    parts: list[str | int] = []
    for piece in path.split("."):
        match = _PART.fullmatch(piece)
        if match is None:
            return None
        parts.append(match.group(1))
        parts += [int(i) for i in re.findall(r"\[(\d+)\]", match.group(2))]
    return parts


def _reachable(problems: Problems, raw: dict[str, Any], path: str) -> bool:
    """Whether ``path`` names a value of the config, or a new key of a table in it."""
    key = f'tune.space."{path}"'
    parts = split_path(path)
    if parts is None or parts[0] == "tune":
        problems.add(key, "is not a config path; write it as in the file, for example "
                     '"optimizer.learning_rate" or "model.layers[1].output_size"')
        return False
    node: Any = raw
    for depth, part in enumerate(parts[:-1]):
        where = _shown(parts[:depth + 1])
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                size = len(node) if isinstance(node, list) else 0
                problems.add(key, f"{where} does not exist (the config has {size} there)")
                return False
        elif not isinstance(node, dict) or part not in node:
            problems.add(key, f"{where} is not in the config")
            return False
        node = node[part]
    last = parts[-1]
    fits = (isinstance(node, list) and last < len(node)) if isinstance(last, int) else \
        isinstance(node, dict)
    if not fits:
        problems.add(key, f"{_shown(parts[:-1])} is not a table that can hold {parts[-1]}")
        return False
    return True


def _shown(parts: list[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def with_values(raw: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A copy of the config with each path set to its value (and no ``[tune]`` table)."""
    document = copy.deepcopy({key: value for key, value in raw.items() if key != "tune"})
    for path, value in values.items():
        parts = split_path(path)
        node: Any = document
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = value
    return document


def suggest(trial: Any, spec: Range) -> Any:
    """One value of ``spec``'s range from an Optuna trial (named by the path)."""
    if spec.type == "choice":
        return trial.suggest_categorical(spec.path, list(spec.values))
    if spec.type == "int":
        return trial.suggest_int(spec.path, spec.low, spec.high, step=spec.step)
    return trial.suggest_float(spec.path, spec.low, spec.high, log=spec.type == "log_uniform")
