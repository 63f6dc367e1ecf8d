"""Components the example plugin registers lazily, as ``"nnframe_example.extras:Name"``."""

import attrs
import numpy as np

import nnframe


@attrs.define(eq=False)
class MeanPrediction(nnframe.Metric):
    """The mean of the network's first output over every sample seen."""

    _total: float = attrs.field(init=False, default=0.0, repr=False)
    _count: int = attrs.field(init=False, default=0, repr=False)

    @property
    def name(self):
        return "mean_prediction"

    def reset(self):
        self._total, self._count = 0.0, 0

    def update(self, y_true, y_pred):
        first = y_pred.reshape(len(y_pred), -1)[:, 0]
        self._total += float(np.sum(first, dtype=np.float64))
        self._count += len(first)

    def result(self):
        return self._total / self._count if self._count else 0.0


def _load_blobs(split, data_dir, download):
    rng = np.random.default_rng(0 if split == "train" else 1)
    size = 200 if split == "train" else 100
    labels = rng.integers(0, 3, size)
    centres = np.array([[2.0, 0.0], [-2.0, 1.0], [0.0, -2.0]])
    x = centres[labels] + 0.5 * rng.standard_normal((size, 2))
    return x.astype(np.float32), labels


def blobs():
    """Three Gaussian blobs in 2-D, 200 training and 100 test samples."""
    return nnframe.Dataset("blobs", "three Gaussian blobs in 2-D", (2,),
                           {"train": 200, "test": 100}, 3, (), _load_blobs)
