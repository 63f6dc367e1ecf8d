"""The built-in data sets as registered components, and finding data sets by name or shape.

Each factory returns a `nnframe.Dataset`: its sample shape, sizes and classes are known
without reading anything, so a config can be validated (layer shapes, subset sizes) before
any data is loaded or downloaded. Plugins add data sets through ``register_datasets``.
"""

from __future__ import annotations

import inspect
import math
import os
from typing import Any

from nnframe.core.registry import get_registry
from nnframe.datasets.contract import Dataset
from nnframe.errors import ComponentError, DataError


def _load_xor(split: str, data_dir: str | os.PathLike | None, download: bool):
    from nnframe.datasets.xor import xor

    return xor()


def _load_mnist(split: str, data_dir: str | os.PathLike | None, download: bool):
    from nnframe.datasets.mnist import mnist

    return mnist(split, data_dir=data_dir, download=download)


def _mnist_present() -> bool:
    from nnframe.datasets.mnist import files_present

    return files_present()


def _load_mnist_sample(split: str, data_dir: str | os.PathLike | None, download: bool):
    from nnframe.datasets.sample import mnist_sample

    return mnist_sample(split)


def xor_dataset() -> Dataset:
    """The four samples of the XOR truth table (test = train)."""
    return Dataset("xor", "the four samples of the XOR truth table (test = train)", (2,),
                   {"train": 4, "test": 4}, None, (1,), _load_xor)


def mnist_dataset() -> Dataset:
    """MNIST handwritten digits, 28x28x1 in [0, 1] (downloaded if missing)."""
    return Dataset("mnist", "MNIST handwritten digits, 28x28x1 in [0, 1] (downloaded if "
                   "missing)", (28, 28, 1), {"train": 60_000, "test": 10_000}, 10, (),
                   _load_mnist, _mnist_present)


def mnist_sample_dataset() -> Dataset:
    """2,000 training and 500 test images of MNIST shipped with nnframe."""
    return Dataset("mnist_sample", "2,000 training and 500 test images of MNIST shipped "
                   "with nnframe", (28, 28, 1), {"train": 2_000, "test": 500}, 10, (),
                   _load_mnist_sample)


def dataset(name: str, **arguments: Any) -> Dataset:
    """The registered data set called ``name`` (bare or ``distribution:name``), built with
    ``arguments`` (a reader's); a `DataError` suggesting close names when there is none."""
    try:
        return get_registry().create("dataset", name, **arguments)
    except ComponentError as exc:
        raise DataError(str(exc)) from None


def for_input_shape(shape: tuple[int, ...], skipped: list[str] | None = None) -> Dataset:
    """The data set to evaluate a model with this input shape on, when none is named.

    Among the registered sets that describe themselves without arguments and whose
    samples hold as many values, the first (built-in first) that needs no download (full
    MNIST when its files are in the data directory, else the shipped sample). A data set
    that fails to describe itself (a broken plugin's) is skipped, named in ``skipped``.
    """
    size = math.prod(shape)
    registry = get_registry()
    sets = []
    for component in registry.components("dataset"):
        if _needs_arguments(component.factory):
            continue  # a reader of the user's files: nothing to find by shape
        try:
            info = registry.create("dataset", component.qualified_name)
            if info.sample_shape is None:
                continue
            sets.append((info, math.prod(info.sample_shape)))
        except Exception as exc:  # a plugin is a guest: name it, skip it
            if skipped is not None:
                skipped.append(f"data set {component.qualified_name!r} of "
                               f"{component.distribution} could not describe itself and "
                               f"was skipped: {type(exc).__name__}: {exc}")
    sets.sort(key=lambda pair: not registry.identify("dataset", pair[0]).builtin)
    fits = [info for info, values in sets if values == size]
    if not fits:
        names = ", ".join(info.name for info, _ in sets)
        raise DataError(f"no known data set has samples that fit the input shape "
                        f"{tuple(shape)}; choose one with --dataset ({names}), or evaluate "
                        "on a file with --data")
    ready = [info for info in fits if _ready(info)]
    return (ready or fits)[0]


def _ready(info: Dataset) -> bool:
    try:
        return bool(info.ready())
    except Exception:  # a plugin's check that fails: not ready
        return False


def _needs_arguments(factory: object) -> bool:
    """Whether a data set factory has required arguments (a reader of files)."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return False
    return any(p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
               for p in signature.parameters.values())
