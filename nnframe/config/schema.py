"""A validated training config: what to build, on which data, and how to train it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from nnframe.datasets.catalog import dataset
from nnframe.datasets.contract import Dataset

if TYPE_CHECKING:
    from nnframe.core.network import Network


@attrs.frozen
class ComponentSpec:
    """A layer, loss or optimizer by registered name with its constructor arguments."""

    key: str  #: where it is in the file: ``model.layers[2]``, ``loss``, ``train.schedule``
    kind: str  #: a kind of component: ``layer``, ``loss``, ``optimizer``, ``metric``, ...
    name: str  #: as written: ``dense`` or ``distribution:name``
    arguments: dict[str, Any] = attrs.field(factory=dict)

    def create(self) -> Any:
        """A fresh component, built through the registry."""
        from nnframe.core.registry import get_registry

        return get_registry().create(self.kind, self.name, **self.arguments)


@attrs.frozen
class DataSpec:
    """``[data]``: which data set, how much of it, and how it is shaped for the network."""

    dataset: str  #: the registered name: ``mnist_sample``, or a reader such as ``csv``
    arguments: dict[str, Any] = attrs.field(factory=dict)  #: a reader's, paths resolved
    test: ComponentSpec | None = None  #: a separate test file's reader
    test_split: float | None = None  #: fraction of the rows held out for testing
    stratify: bool = True  #: held-out rows keep every class's share
    subset: int | None = None  #: first N training samples
    test_subset: int | None = None  #: first N test samples
    validation_split: float = 0.0  #: fraction held out (shuffled) from the training data
    flatten: bool = False  #: reshape each sample to a vector
    reshape: tuple[int, ...] | None = None  #: reshape each sample to this shape
    one_hot: bool = False  #: class labels as one-hot rows (for mse on classes)
    data_dir: Path | None = None
    download: bool = True

    @property
    def info(self) -> Dataset:
        """The data set (a reader is built with its arguments; nothing is read)."""
        return dataset(self.dataset, **self.arguments)

    @property
    def sample_shape(self) -> tuple[int, ...] | None:
        """One input sample's shape as the network sees it; None when it is known only
        once the files are read (a reader of the user's files)."""
        if self.reshape is not None:
            return self.reshape
        shape = self.info.sample_shape
        if shape is None:
            return None
        return (math.prod(shape),) if self.flatten else shape


@attrs.frozen
class TrainSpec:
    """``[train]``: epochs, batch size, seed, display, and the components of a run."""

    epochs: int
    batch_size: int = 32
    seed: int | None = None  #: None: a fresh seed, printed so that the run can be repeated
    shuffle: bool = True
    log_every: int = 1  #: print a line every N epochs (and after the last)
    metrics: tuple[ComponentSpec, ...] = ()  #: reported besides the loss
    schedule: ComponentSpec | None = None  #: the learning rate per step
    callbacks: tuple[ComponentSpec, ...] = ()  #: early stopping, checkpoints, logs
    clip_norm: float | None = None  #: the largest global gradient norm
    class_weight: Any = None  #: "balanced", or a mapping of class (name or index) to weight
    strategy: str | None = None  #: "threads": each batch split over this process's threads

    def create_schedule(self) -> Any:
        """A fresh schedule, or None."""
        return None if self.schedule is None else self.schedule.create()

    def create_callbacks(self) -> list[Any]:
        """Fresh callbacks, in the order of the file."""
        return [spec.create() for spec in self.callbacks]


@attrs.frozen
class Config:
    """A whole training config, checked before anything is trained."""

    source: str
    layers: tuple[ComponentSpec, ...]
    loss: ComponentSpec
    optimizer: ComponentSpec
    data: DataSpec
    train: TrainSpec
    dtype: str = "float32"

    def build_network(self) -> Network:
        """A new, unbuilt network with the config's layers, loss and optimizer."""
        from nnframe.core.network import Network

        network = Network([spec.create() for spec in self.layers], dtype=self.dtype)
        return network.use(self.loss.create(), self.optimizer.create(),
                           metrics=[spec.create() for spec in self.train.metrics])
