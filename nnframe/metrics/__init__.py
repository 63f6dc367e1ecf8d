"""Metrics: scores accumulated over batches and reported per epoch, and class reading.

Built-in metrics (registered by `nnframe.builtin_plugin`): ``accuracy``,
``top_k_accuracy`` (``k=5``), ``precision``, ``recall`` and ``f1`` (macro-averaged) and
``mae``.
"""

from nnframe.metrics.accuracy import Accuracy, TopKAccuracy
from nnframe.metrics.classes import ClassReader, class_reader, is_one_hot, one_hot
from nnframe.metrics.confusion import F1, Precision, Recall
from nnframe.metrics.regression import MeanAbsoluteError

__all__ = [
    "F1",
    "Accuracy",
    "ClassReader",
    "MeanAbsoluteError",
    "Precision",
    "Recall",
    "TopKAccuracy",
    "class_reader",
    "is_one_hot",
    "one_hot",
]
