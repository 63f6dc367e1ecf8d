"""Reading and checking a whole training config before anything is trained.

Every problem is collected (unknown keys and components with suggestions, wrong types,
arguments that do not fit, layer shapes that do not chain, targets that do not fit the
loss) and reported together, each with the file and the key.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from nnframe.config import fields
from nnframe.config.components import check_component
from nnframe.config.problems import Problems
from nnframe.config.schema import ComponentSpec, Config, DataSpec, TrainSpec
from nnframe.config.toml import check_nesting, read_toml
from nnframe.constants import MAX_LAYERS, count_layers
from nnframe.datasets.contract import Dataset
from nnframe.errors import DataError, NNFrameError

#: ``[tune]`` is read by ``nnframe tune`` alone (`nnframe.tune.space`); training ignores it
SECTIONS = ("model", "loss", "optimizer", "data", "train", "tune")
MODEL_KEYS = ("layers", "dtype")
DATA_KEYS = ("dataset", "test", "test_split", "stratify", "subset", "test_subset",
             "validation_split", "flatten", "reshape", "one_hot", "data_dir", "download")
#: Suffixes of a data file named where a data set's name belongs.
FILE_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet",
                 ".npy": "npy", ".npz": "npz"}
TRAIN_KEYS = ("epochs", "batch_size", "seed", "shuffle", "log_every", "metrics", "schedule",
              "callbacks", "clip_norm", "class_weight", "strategy")
LAYERS_EXAMPLE = '[[model.layers]] type = "dense" output_size = 10'


def load_config(path: str | Path) -> Config:
    """Read and check a TOML training config; `ConfigFileError` lists every problem."""
    return parse_config(read_toml(path), source=str(path), base_dir=Path(path).parent)


def parse_config(raw: dict[str, Any], source: str = "<config>",
                 base_dir: Path | None = None) -> Config:
    """Check an already parsed config (a dict as TOML gives it)."""
    check_nesting(raw, source)
    problems = Problems(source)
    fields.check_keys(problems, raw, "", SECTIONS)
    model = fields.table(problems, raw, "", "model", True, LAYERS_EXAMPLE)
    dtype = "float32"
    layer_tables: list[tuple[str, dict[str, Any]]] = []
    if model is not None:
        fields.check_keys(problems, model, "model", MODEL_KEYS)
        dtype = fields.string(problems, model, "model", "dtype", "float32",
                              choices=("float32", "float64")) or "float32"
        layer_tables = _layer_tables(problems, model)
    checked = [check_component(problems, "layer", key, table) for key, table in layer_tables]
    loss = _component_section(problems, raw, "loss", 'type = "mse"')
    optimizer = _component_section(problems, raw, "optimizer",
                                   'type = "sgd" learning_rate = 0.1')
    data = _data_spec(problems, raw, base_dir)
    train = _train_spec(problems, raw)
    fields.table(problems, raw, "", "tune", False, "")

    if data is not None and data.sample_shape is not None and checked \
            and all(instance is not None for _, instance in checked):
        output_shape = _chain_shapes(problems, checked, data, dtype)
        if output_shape is not None and loss[1] is not None:
            _check_targets(problems, loss[1], output_shape, data)
    problems.raise_if_any()
    return Config(source=source, layers=tuple(spec for spec, _ in checked),
                  loss=loss[0], optimizer=optimizer[0], data=data, train=train, dtype=dtype)


def _layer_tables(problems: Problems, model: dict[str, Any]) -> list[tuple[str, dict]]:
    layers = model.get("layers")
    if layers is None:
        problems.add("model.layers", f"missing; list the layers in order, for example "
                     f"{LAYERS_EXAMPLE}")
        return []
    if not isinstance(layers, list) or not layers:
        problems.add("model.layers", "must be a non-empty array of tables ([[model.layers]]), "
                     f"got {fields.shown(layers)}")
        return []
    if count_layers(layers) > MAX_LAYERS:
        problems.add("model.layers", f"describes {count_layers(layers):,} layers (inner layers "
                     f"included), more than the {MAX_LAYERS:,} a config may hold")
        return []
    tables = []
    for index, layer in enumerate(layers):
        key = f"model.layers[{index}]"
        if isinstance(layer, dict):
            tables.append((key, layer))
        else:
            problems.add(key, f"must be a table with a type, got {fields.shown(layer)}")
    return tables


def _component_section(problems: Problems, raw: dict[str, Any], kind: str,
                       example: str) -> tuple[ComponentSpec | None, Any]:
    table = fields.table(problems, raw, "", kind, True, f"[{kind}] {example}")
    if table is None:
        return None, None
    return check_component(problems, kind, kind, table)


def _data_spec(problems: Problems, raw: dict[str, Any], base_dir: Path | None) -> DataSpec | None:
    table = fields.table(problems, raw, "", "data", True, '[data] dataset = "mnist_sample"')
    if table is None:
        return None
    fields.check_keys(problems, table, "data", DATA_KEYS)
    source = table.get("dataset")
    if source is None:
        problems.add("data.dataset", 'missing; give a data set name (dataset = "mnist_sample")'
                     ' or a reader with its arguments (dataset = { type = "csv", path = '
                     '"data.csv", target = "label" })')
        return None
    spec, info = _dataset(problems, "data.dataset", source, base_dir)
    test_spec, _ = (None, None) if "test" not in table else _dataset(
        problems, "data.test", table["test"], base_dir)
    values = {
        "subset": fields.integer(problems, table, "data", "subset", None, minimum=1),
        "test_subset": fields.integer(problems, table, "data", "test_subset", None, minimum=1),
        "validation_split": fields.number(problems, table, "data", "validation_split", 0.0,
                                          low=0.0, high=1.0, high_inclusive=False),
        "test_split": fields.number(problems, table, "data", "test_split", None, low=0.0,
                                    high=1.0, low_inclusive=False, high_inclusive=False),
        "stratify": fields.boolean(problems, table, "data", "stratify", True),
        "flatten": fields.boolean(problems, table, "data", "flatten", False),
        "one_hot": fields.boolean(problems, table, "data", "one_hot", False),
        "download": fields.boolean(problems, table, "data", "download", True),
    }
    values["reshape"] = _reshape(problems, table, info, values["flatten"])
    data_dir = fields.string(problems, table, "data", "data_dir", None)
    if "test" in table and values["test_split"] is not None:
        problems.add("data.test_split", "give either a test file (test) or test_split, "
                     "not both")
    if info is not None:
        _check_sizes(problems, info, spec.name, values, test_spec is not None)
    if spec is None or info is None or problems.has("data"):
        return None
    if data_dir is not None:
        data_dir = Path(data_dir).expanduser()
        if base_dir is not None and not data_dir.is_absolute():
            data_dir = base_dir / data_dir
    return DataSpec(dataset=spec.name, arguments=spec.arguments, test=test_spec,
                    data_dir=data_dir, **values)


def _dataset(problems: Problems, key: str, source: Any, base_dir: Path | None
             ) -> tuple[ComponentSpec | None, Any]:
    """A data set by name, or a reader's table with its paths made relative to the
    config's folder; a file path where a name belongs gets the table to write instead."""
    if isinstance(source, str) and Path(source).suffix.lower() in FILE_SUFFIXES:
        reader = FILE_SUFFIXES[Path(source).suffix.lower()]
        argument = "x" if reader == "npy" else "path"
        problems.add(key, f"{source!r} is a file, not a data set name; read it with a "
                     f'reader: {key.split(".")[-1]} = {{ type = "{reader}", {argument} = '
                     f'"{source}"' + (', target = "<column>" }' if reader in ("csv", "parquet")
                                      else " }"))
        return None, None
    if isinstance(source, dict) and base_dir is not None:
        source = _resolved_paths(source, base_dir)
    return check_component(problems, "dataset", key, source)


def _resolved_paths(table: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """The reader's path arguments (its factory's ``path_arguments``) relative to
    ``base_dir`` unless absolute."""
    from nnframe.core.registry import get_registry

    try:
        factory = get_registry().get("dataset", table.get("type")).factory
    except Exception:  # an unknown reader: check_component says so
        return table
    resolved = dict(table)
    for name in getattr(factory, "path_arguments", ()):
        value = resolved.get(name)
        if isinstance(value, str) and not Path(value).expanduser().is_absolute():
            resolved[name] = str(base_dir / value)
        elif isinstance(value, str):
            resolved[name] = str(Path(value).expanduser())
    return resolved


def _check_sizes(problems: Problems, info: Dataset, name: str, values: dict[str, Any],
                 has_test: bool) -> None:
    """What can be checked before reading: subsets against known sizes, one-hot against
    known classes, where the test data comes from."""
    files = not info.sizes  # a reader of the user's files: sizes known once read
    if not files:
        for key in ("test_split",):
            if values[key] is not None:
                problems.add(f"data.{key}", f"{name} has its own test split; test_split is "
                             "for a reader of your own file")
        if has_test:
            problems.add("data.test", f"{name} has its own test split; test is for a "
                         "reader of your own file")
    for key, split in (("subset", "train"), ("test_subset", "test")):
        if values[key] is not None and split in info.sizes and values[key] > info.sizes[split]:
            problems.add(f"data.{key}", f"{name} has {info.sizes[split]:,} {split} "
                         f"samples, fewer than {values[key]:,}")
    if values["one_hot"] and info.num_classes is None and not files:
        problems.add("data.one_hot", f"{name} has no class labels to one-hot encode")
    if values["validation_split"] and "train" in info.sizes:
        size = values["subset"] or info.sizes["train"]
        held_out = round(size * values["validation_split"])
        if held_out == 0 or held_out == size:
            problems.add("data.validation_split", f"{values['validation_split']} of "
                         f"{size} samples leaves no training or no validation samples")


def _reshape(problems: Problems, table: dict[str, Any], info: Dataset | None,
             flatten: bool | None) -> tuple[int, ...] | None:
    """``data.reshape``: a sample shape with as many values as the data set's samples."""
    value = table.get("reshape")
    if value is None:
        return None
    if (not isinstance(value, list) or not value
            or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in value)):
        problems.add("data.reshape", "must be an array of positive integers, the shape of "
                     f"one sample (for example [28, 28]), got {fields.shown(value)}")
        return None
    shape = tuple(value)
    if flatten:
        problems.add("data.reshape", "give either flatten = true or reshape, not both "
                     "(flatten is reshape to one axis)")
        return None
    if info is not None and info.sample_shape is not None \
            and math.prod(shape) != math.prod(info.sample_shape):
        problems.add("data.reshape", f"{list(shape)} holds {math.prod(shape):,} values per "
                     f"sample, but {info.name} samples {info.sample_shape} hold "
                     f"{math.prod(info.sample_shape):,}")
        return None
    return shape


def _train_spec(problems: Problems, raw: dict[str, Any]) -> TrainSpec | None:
    table = fields.table(problems, raw, "", "train", True, "[train] epochs = 10")
    if table is None:
        return None
    fields.check_keys(problems, table, "train", TRAIN_KEYS)
    values = {
        "epochs": fields.integer(problems, table, "train", "epochs", minimum=1),
        "batch_size": fields.integer(problems, table, "train", "batch_size", 32, minimum=1),
        "shuffle": fields.boolean(problems, table, "train", "shuffle", True),
        "log_every": fields.integer(problems, table, "train", "log_every", 1, minimum=1),
        "clip_norm": fields.number(problems, table, "train", "clip_norm", None, low=0.0,
                                   low_inclusive=False, high=float("inf"),
                                   high_inclusive=False),
        "strategy": fields.string(problems, table, "train", "strategy", None,
                                  choices=("threads",)),
    }
    seed = fields.integer(problems, table, "train", "seed", None, minimum=0)
    values["class_weight"] = _class_weight(problems, table)
    metrics = _component_list(problems, table, "metric", "metrics")
    callbacks = _component_list(problems, table, "callback", "callbacks")
    schedule = None
    if "schedule" in table:
        schedule, _ = check_component(problems, "schedule", "train.schedule", table["schedule"])
    if problems.has("train"):
        return None
    return TrainSpec(seed=seed, metrics=metrics, schedule=schedule, callbacks=callbacks,
                     **values)


def _class_weight(problems: Problems, table: dict[str, Any]) -> Any:
    """``class_weight = "balanced"`` or ``{ Adelie = 1.0, Gentoo = 2.0 }`` (class names,
    or class indices as keys: ``{ 0 = 1.0, 1 = 5.0 }``)."""
    value = table.get("class_weight")
    if value is None or value == "balanced":
        return value
    if isinstance(value, dict) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
            for v in value.values()):
        return dict(value)
    problems.add("train.class_weight", 'must be "balanced" or a table of class = weight '
                 f"(numbers >= 0), for example {{ 0 = 1.0, 1 = 5.0 }}, got {fields.shown(value)}")
    return None


def _component_list(problems: Problems, table: dict[str, Any], kind: str,
                    key: str) -> tuple[ComponentSpec, ...]:
    """``[train] metrics = ["f1", { type = "top_k_accuracy", k = 3 }]`` as specs."""
    items = table.get(key, [])
    if not isinstance(items, list):
        problems.add(f"train.{key}", f"must be an array of {kind} names or tables, got "
                     f"{fields.shown(items)}")
        return ()
    specs = []
    for index, item in enumerate(items):
        spec, _ = check_component(problems, kind, f"train.{key}[{index}]", item)
        if spec is not None:
            specs.append(spec)
    return tuple(specs)


def _chain_shapes(problems: Problems, checked: list[tuple[ComponentSpec, Any]],
                  data: DataSpec, dtype: str) -> tuple[int, ...] | None:
    """Build the layers on a dry run from the data's sample shape; a problem where it breaks."""
    shape = data.sample_shape
    rng = np.random.default_rng(0)
    for index, (spec, layer) in enumerate(checked):
        if index == 0:
            origin = f"the data ({data.dataset}{_shaped(data)})"
        else:
            origin = f"layer {index - 1} ({checked[index - 1][0].name})"
        try:
            layer.build(shape, rng, np.dtype(dtype))
            shape = tuple(int(s) for s in layer.output_shape(shape))
        except Exception as exc:  # shape errors, and any failure of a plugin's layer
            detail = str(exc) if isinstance(exc, NNFrameError) else f"{type(exc).__name__}: {exc}"
            hint = ""
            flat = (math.prod(shape),)
            if (index == 0 and len(shape) > 1 and data.reshape is None
                    and _builds(layer, flat, rng, dtype)):
                hint = "; set data.flatten = true or start with a flatten layer"
            inner = getattr(exc, "inner_key", "")
            problems.add(f"{spec.key}.{inner}" if inner else spec.key,
                         f"layer {index} ({spec.name}) does not fit its input of "
                         f"shape {shape} from {origin}: {detail}{hint}")
            return None
    return shape


def _builds(layer: Any, shape: tuple[int, ...], rng: np.random.Generator, dtype: str) -> bool:
    """Whether ``layer`` builds for samples of ``shape`` (to suggest only a fix that works)."""
    try:
        layer.build(shape, rng, np.dtype(dtype))
        layer.output_shape(shape)
    except Exception:
        return False
    return True


def _shaped(data: DataSpec) -> str:
    if data.flatten:
        return ", flattened"
    if data.reshape is not None:
        return f", reshaped to {data.reshape}"
    return ""


def _check_targets(problems: Problems, loss: Any, output_shape: tuple[int, ...],
                   data: DataSpec) -> None:
    """Whether the data's targets, as configured, can be compared with the network's output."""
    check = getattr(loss, "check_targets", None)
    if check is None:
        return
    info = data.info
    if info.num_classes is None:
        targets = np.zeros((1, *info.target_shape), dtype=np.float32)
    elif data.one_hot:
        targets = np.eye(info.num_classes, dtype=np.float32)[:1]
    else:
        targets = np.zeros(1, dtype=np.int64)
    try:
        check(targets, output_shape)
    except DataError as exc:
        hint = ""
        if info.num_classes is not None and not data.one_hot:
            hint = "; set data.one_hot = true for a loss that compares one-hot rows"
        problems.add("loss", f"the {data.dataset} targets do not fit the network's output "
                     f"{output_shape}: {exc}{hint}")
