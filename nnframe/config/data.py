"""Loading the data a config names, shaped for the network (subset, flatten or reshape,
one-hot, split)."""

from __future__ import annotations

import attrs
import numpy as np

from nnframe.config.schema import DataSpec
from nnframe.contracts import Dataset
from nnframe.errors import DataError, NNFrameError
from nnframe.metrics import one_hot


@attrs.frozen
class Splits:
    """Training, validation (optional) and test arrays, ready for `Network.fit`."""

    x_train: np.ndarray = attrs.field(repr=False)
    y_train: np.ndarray = attrs.field(repr=False)
    x_test: np.ndarray = attrs.field(repr=False)
    y_test: np.ndarray = attrs.field(repr=False)
    validation: tuple[np.ndarray, np.ndarray] | None = attrs.field(default=None, repr=False)

    def describe(self, name: str) -> str:
        held_out = f", {len(self.validation[0]):,} validation" if self.validation else ""
        return (f"{name}: {len(self.x_train):,} training{held_out}, {len(self.x_test):,} test "
                f"samples of shape {tuple(self.x_train.shape[1:])}")


def load_data(spec: DataSpec) -> Splits:
    """The arrays of ``spec``: the first ``subset`` samples, shaped as configured.

    The validation set is the last ``validation_split`` fraction of the training samples
    (as in Keras), taken before any shuffling.
    """
    info = spec.info
    x_train, y_train = _load(info, "train", spec)
    x_test, y_test = _load(info, "test", spec)
    if spec.subset is not None:
        x_train, y_train = x_train[: spec.subset], y_train[: spec.subset]
    if spec.test_subset is not None:
        x_test, y_test = x_test[: spec.test_subset], y_test[: spec.test_subset]
    x_train, y_train = shape_for(spec, info, x_train, y_train)
    x_test, y_test = shape_for(spec, info, x_test, y_test)
    validation = None
    if spec.validation_split:
        cut = len(x_train) - round(len(x_train) * spec.validation_split)
        if not 0 < cut < len(x_train):
            raise DataError(f"validation_split = {spec.validation_split} leaves no training "
                            f"or no validation samples out of {len(x_train)}")
        validation = (x_train[cut:], y_train[cut:])
        x_train, y_train = x_train[:cut], y_train[:cut]
    return Splits(x_train, y_train, x_test, y_test, validation)


def shape_for(spec: DataSpec, info: Dataset, x: np.ndarray,
              y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flatten or reshape the samples and one-hot encode the labels when the config asks."""
    if spec.flatten:
        x = x.reshape(len(x), -1)
    if spec.reshape is not None:
        x = x.reshape(len(x), *spec.reshape)
    if spec.one_hot and info.num_classes is not None:
        y = one_hot(y, info.num_classes, dtype=x.dtype)
    return x, y


def fit_to_network(network, x: np.ndarray, labels: np.ndarray,
                   info: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Data of a named set shaped for a trained network: reshape samples, one-hot if needed.

    Samples are reshaped when they hold as many values as the network's input; class
    labels become one-hot rows when the network's loss rejects integer labels.
    """
    wanted = tuple(network.input_shape)
    if tuple(x.shape[1:]) != wanted:
        if int(np.prod(x.shape[1:])) != int(np.prod(wanted)):
            raise DataError(f"{info.name} has samples of shape {tuple(x.shape[1:])}, which "
                            f"do not fit the model's input shape {wanted}")
        x = x.reshape(len(x), *wanted)
    if info.num_classes is None or network.loss is None:
        return x, labels
    check = getattr(network.loss, "check_targets", None)
    if check is None:
        return x, labels
    try:
        check(labels, network.output_shape)
        return x, labels
    except NNFrameError:
        return x, one_hot(labels, info.num_classes, dtype=x.dtype)


def _load(info: Dataset, split: str, spec: DataSpec) -> tuple[np.ndarray, np.ndarray]:
    return info.load(split, data_dir=spec.data_dir, download=spec.download)
