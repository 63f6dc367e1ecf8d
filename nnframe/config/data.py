"""Loading the data a config names, shaped for the network (subset, flatten or reshape,
one-hot, split).

A named data set (``mnist_sample``) brings its own test split, and its samples come
shuffled: ``validation_split`` holds out the last ones, as Keras does. A reader of the
user's files (``csv``, ``npy``, ...) is split here: a test file, or ``test_split`` of the
rows; then ``validation_split`` of the training rows. Those held-out rows are drawn with
the run's seed and stratified by class (unless ``stratify = false``), since files are
often sorted by class, and the `DataSchema` is fitted on the training rows alone.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from nnframe.config.schema import DataSpec
from nnframe.datasets.contract import Dataset
from nnframe.datasets.readers import FileDataset, Raw
from nnframe.datasets.schema import DataSchema, fit_schema
from nnframe.datasets.splits import split_rows
from nnframe.datasets.streaming import is_streamed
from nnframe.errors import DataError, NNFrameError
from nnframe.metrics import one_hot

#: Streams of the run's seed for each held-out part, so that they never draw alike.
TEST_STREAM, VALIDATION_STREAM = 1, 2


@attrs.frozen
class Splits:
    """Training, validation (optional) and test arrays, ready for `Network.fit`."""

    x_train: np.ndarray = attrs.field(repr=False)
    y_train: np.ndarray = attrs.field(repr=False)
    x_test: np.ndarray | None = attrs.field(repr=False)
    y_test: np.ndarray | None = attrs.field(repr=False)
    validation: tuple[np.ndarray, np.ndarray] | None = attrs.field(default=None, repr=False)
    schema: DataSchema | None = None
    """How the rows of the user's files were coded (None for a named data set)."""
    held_out: str = ""
    """How the held-out rows were chosen, for the banner."""

    def describe(self, name: str) -> str:
        held_out = f", {len(self.validation[0]):,} validation" if self.validation else ""
        test = (f", {len(self.x_test):,} test" if self.x_test is not None
                else " (no test data: set test or test_split)")
        line = (f"{name}: {len(self.x_train):,} training{held_out}{test} samples of shape "
                f"{tuple(self.x_train.shape[1:])}")
        if is_streamed(self.x_train):
            line += ", training rows read from disk batch by batch (stream)"
        return line + (f"; {self.held_out}" if self.held_out else "")


def seed_stream(seed: int | None, stream: int) -> Any:
    """The generator seed of one held-out part: None (fresh) without a run seed."""
    return None if seed is None else [int(seed), stream]


def load_data(spec: DataSpec, seed: int | None = None, classify: bool | None = None
              ) -> Splits:
    """The arrays of ``spec``, shaped as configured; held-out rows drawn with ``seed``.

    ``classify`` says whether the targets are classes (the loss knows; None: when they
    are text or integers).
    """
    info = spec.info
    if isinstance(info, FileDataset):
        return _load_files(spec, info, seed, classify)
    x_train, y_train = _load(info, "train", spec)
    x_test, y_test = _load(info, "test", spec)
    if spec.subset is not None:
        x_train, y_train = x_train[: spec.subset], y_train[: spec.subset]
    if spec.test_subset is not None:
        x_test, y_test = x_test[: spec.test_subset], y_test[: spec.test_subset]
    x_train, y_train = shape_for(spec, info.num_classes, x_train, y_train)
    x_test, y_test = shape_for(spec, info.num_classes, x_test, y_test)
    validation = None
    if spec.validation_split:  # a named set's samples come shuffled: the last ones, as Keras
        cut = len(x_train) - round(len(x_train) * spec.validation_split)
        if not 0 < cut < len(x_train):
            raise DataError(f"validation_split = {spec.validation_split} leaves no training "
                            f"or no validation samples out of {len(x_train)}")
        validation = (x_train[cut:], y_train[cut:])
        x_train, y_train = x_train[:cut], y_train[:cut]
    return Splits(x_train, y_train, x_test, y_test, validation)


def _load_files(spec: DataSpec, info: FileDataset, seed: int | None,
                classify: bool | None) -> Splits:
    raw = info.read()
    if spec.subset is not None:
        raw = raw.take(np.arange(min(spec.subset, len(raw))))
    stratify = spec.stratify and _classes(raw, classify)
    test_raw, parts = None, []
    if spec.test is not None:
        test_raw = spec.test.create().read()
    elif spec.test_split:
        keep, held = split_rows(len(raw), spec.test_split, seed_stream(seed, TEST_STREAM),
                                raw.targets if stratify else None, "test")
        raw, test_raw = raw.take(keep), raw.take(held)
        parts.append("test")
    validation_raw = None
    if spec.validation_split:
        keep, held = split_rows(len(raw), spec.validation_split,
                                seed_stream(seed, VALIDATION_STREAM),
                                raw.targets if stratify else None, "validation")
        raw, validation_raw = raw.take(keep), raw.take(held)
        parts.append("validation")
    if raw.targets is None:
        raise DataError(f"{raw.source}: no targets to train on; name the target column "
                        "(target = \"...\") or give the targets' file")
    schema = fit_schema(raw, classify=classify, missing=getattr(info, "missing", "error"),
                        seed=seed)
    num_classes = None if schema.classes is None else len(schema.classes)

    def arrays(part: Raw) -> tuple[np.ndarray, np.ndarray]:
        return shape_for(spec, num_classes, schema.inputs(part), schema.targets(part))

    x_train, y_train = arrays(raw)
    x_test = y_test = None
    if test_raw is not None:
        if spec.test_subset is not None:
            test_raw = test_raw.take(np.arange(min(spec.test_subset, len(test_raw))))
        x_test, y_test = arrays(test_raw)
    validation = None if validation_raw is None else arrays(validation_raw)
    held_out = " and ".join(parts)
    if held_out:
        held_out = _how(seed, stratify, held_out)
    return Splits(x_train, y_train, x_test, y_test, validation, schema, held_out)


def _classes(raw: Raw, classify: bool | None) -> bool:
    """Whether the targets are class labels to stratify by."""
    if raw.targets is None or raw.targets.ndim != 1:
        return False
    if classify is not None:
        return classify
    return raw.class_names is not None or raw.targets.dtype.kind in "USObiu"


def _how(seed: int | None, stratified: bool, parts: str) -> str:
    drawn = f"seed {seed}" if seed is not None else "a fresh seed"
    return (f"{parts} rows drawn at random with {drawn}"
            + (", stratified by class" if stratified else ""))


def shape_for(spec: DataSpec, num_classes: int | None, x: np.ndarray,
              y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flatten or reshape the samples and one-hot encode the labels when the config asks."""
    if spec.flatten:
        x = x.reshape(len(x), -1)
    if spec.reshape is not None:
        x = x.reshape(len(x), *spec.reshape)
    if spec.one_hot and num_classes is not None:
        y = one_hot(y, num_classes, dtype=x.dtype)
    return x, y


def fit_to_network(network, x: np.ndarray, labels: np.ndarray,
                   info: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Data of a named set shaped for a trained network: reshape samples, one-hot if needed.

    Samples are reshaped when they hold as many values as the network's input; class
    labels become one-hot rows when the network's loss rejects integer labels.
    """
    return fit_arrays(network, x, labels, info.num_classes, info.name)


def fit_arrays(network, x: np.ndarray, labels: np.ndarray, num_classes: int | None,
               name: str) -> tuple[np.ndarray, np.ndarray]:
    """`fit_to_network` for arrays from anywhere (``name`` is said in errors)."""
    wanted = tuple(network.input_shape)
    if tuple(x.shape[1:]) != wanted:
        if int(np.prod(x.shape[1:])) != int(np.prod(wanted)):
            raise DataError(f"{name} has samples of shape {tuple(x.shape[1:])}, which "
                            f"do not fit the model's input shape {wanted}")
        x = x.reshape(len(x), *wanted)
    if num_classes is None or network.loss is None:
        return x, labels
    check = getattr(network.loss, "check_targets", None)
    if check is None:
        return x, labels
    try:
        check(labels, network.output_shape)
        return x, labels
    except NNFrameError:
        return x, one_hot(labels, num_classes, dtype=x.dtype)


def _load(info: Dataset, split: str, spec: DataSpec) -> tuple[np.ndarray, np.ndarray]:
    return info.load(split, data_dir=spec.data_dir, download=spec.download)
