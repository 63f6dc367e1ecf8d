"""Per-sample weights for training: ``sample_weight`` and ``class_weight`` combined.

``class_weight`` is a mapping from class (an index, or a class name the network's
schema knows) to weight, or ``"balanced"``: n_samples / (n_classes * count of the class),
over the classes present, as scikit-learn's ``compute_class_weight`` computes it. The
loss then takes the weights of each batch (``forward(..., sample_weight=...)``) and gives
the weighted mean sum(w * l) / sum(w).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nnframe.errors import ConfigError, DataError


def sample_weights(y: np.ndarray, sample_weight: Any, class_weight: Any,
                   classes: Sequence[str] | None = None) -> np.ndarray | None:
    """The weight of every sample (float64, (N,)), or None when no weighting is asked
    (or every weight is 1, which changes nothing)."""
    weights = None
    if sample_weight is not None:
        weights = _checked(sample_weight, len(y))
    if class_weight is not None:
        per_class = class_weights(_labels(y), class_weight, classes)
        weights = per_class if weights is None else weights * per_class
    if weights is not None and np.all(weights == 1.0):
        return None
    return weights


def _checked(sample_weight: Any, count: int) -> np.ndarray:
    try:
        weights = np.array(sample_weight, dtype=np.float64)  # a copy: never the caller's
    except (TypeError, ValueError):
        raise DataError("sample_weight must be numbers, one per sample") from None
    if weights.ndim == 0:
        weights = np.full(count, float(weights))
    if weights.shape != (count,):
        raise DataError(f"sample_weight has shape {weights.shape}, but there are {count} "
                        f"samples; give one weight per sample, shape ({count},)")
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise DataError("sample_weight must be finite numbers >= 0")
    if not weights.sum() > 0:
        raise DataError("sample_weight sums to 0: at least one sample must have weight")
    return weights


def _labels(y: np.ndarray) -> np.ndarray:
    """Class indices of integer labels (N,) or of one-hot/probability rows (N, classes)."""
    if y.ndim == 1 and y.dtype.kind in "iu":
        return y.astype(np.int64)
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    raise DataError("class_weight needs class targets (integer labels or one-hot rows); "
                    "use sample_weight for other targets")


def class_weights(labels: np.ndarray, class_weight: Any,
                  classes: Sequence[str] | None = None) -> np.ndarray:
    """Each sample's class weight."""
    count = int(labels.max()) + 1 if len(labels) else 0
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ConfigError(f"class_weight must be a mapping or 'balanced', got "
                              f"{class_weight!r}")
        present = np.bincount(labels, minlength=count)
        table = np.zeros(count)
        seen = present > 0
        table[seen] = len(labels) / (int(seen.sum()) * present[seen])
        return table[labels]
    if not isinstance(class_weight, Mapping):
        raise ConfigError(f"class_weight must be a mapping of class to weight or "
                          f"'balanced', got {class_weight!r}")
    size = max(count, len(classes or ()))
    table = np.ones(size)
    for key, value in class_weight.items():
        index = _class_index(key, classes)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                np.isfinite(value) and value >= 0):
            raise ConfigError(f"class_weight[{key!r}] must be a number >= 0, got {value!r}")
        if index >= size:
            table = np.concatenate([table, np.ones(index + 1 - size)])
            size = index + 1
        table[index] = float(value)
    return table[labels]


def _class_index(key: Any, classes: Sequence[str] | None) -> int:
    if classes is not None and str(key) in classes:
        return list(classes).index(str(key))
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool) and key >= 0:
        return int(key)
    if isinstance(key, str) and key.isdigit():
        return int(key)
    known = f"; the classes are {', '.join(classes)}" if classes else ""
    raise ConfigError(f"class_weight names the class {key!r}, which is not a class index"
                      f"{known}")
