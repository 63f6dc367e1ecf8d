"""What the built-in classification metrics share: reading classes off the outputs."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from nnframe.core.contracts import Metric, Shape
from nnframe.errors import DataError
from nnframe.metrics.classes import ClassReader, class_reader


@attrs.define(eq=False)
class ClassificationMetric(Metric):
    """A metric over class predictions: `prepare` settles how to read classes."""

    reader: ClassReader | None = attrs.field(init=False, default=None, repr=False)

    def prepare(self, output_shape: Shape, loss: Any = None,
                targets: np.ndarray | None = None) -> None:
        """Learn how to read classes: from the whole set of targets when given (their
        coding), else from the output width and whether the loss takes logits."""
        super().prepare(output_shape, loss)
        reader = None
        if targets is not None:
            reader = class_reader(targets, self.output_shape, self.takes_logits)
        if reader is None:
            width = int(np.prod(self.output_shape)) if self.output_shape else 1
            if width > 1:
                reader = ClassReader(width)
            elif targets is None:
                reader = ClassReader(2, 0.0 if self.takes_logits else 0.5, 0.5)
        if reader is None:
            raise DataError(f"metric {self.name!r} needs classification targets (integer "
                            "labels, one-hot rows, or 0/1 for a single output)")
        self.reader = reader

    def applies(self, targets: np.ndarray, output_shape: Shape, loss: Any = None) -> bool:
        """Whether ``targets`` (a whole set) are class labels for outputs of
        ``output_shape``: training reports accuracy unasked when they are."""
        return class_reader(targets, output_shape,
                            bool(getattr(loss, "takes_logits", False))) is not None

    def _read(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.reader is None:
            self.prepare(y_pred.shape[1:])
        return self.reader.labels(y_true), self.reader.predicted(y_pred)
