"""When the estimators stop training: MLPClassifier's rule, with nnframe's callbacks.

MLPClassifier stops after ``n_iter_no_change`` epochs in a row in which the loss did not
fall below the best loss so far by at least ``tol``; the best so far follows every
improvement, however small. (nnframe's `EarlyStopping` moves its best only by improvements
of at least ``min_delta``, Keras' rule, which trains on through a slow steady decline.)
When part of the data is held out, the validation loss is watched and the weights of its
best epoch are restored at the end, by an `EarlyStopping` that never stops on its own.
"""

from __future__ import annotations

import math
from typing import Any

from nnframe.callbacks import Callback, EarlyStopping


class StopWhenStalled(Callback):
    """Stop after more than ``patience`` epochs in a row whose ``monitor`` is not below the
    best value so far minus ``tol`` (MLPClassifier's ``n_iter_no_change`` and ``tol``)."""

    def __init__(self, monitor: str, patience: int, tol: float) -> None:
        self.monitor, self.patience, self.tol = monitor, patience, tol
        self.best = math.inf
        self.stalled = 0

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self.best, self.stalled = math.inf, 0

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        value = logs[self.monitor]
        self.stalled = self.stalled + 1 if value > self.best - self.tol else 0
        self.best = min(self.best, value)
        if self.stalled > self.patience:
            self.network.stop_training = True


def stopping_callbacks(patience: int | None, tol: float, validating: bool,
                       epochs: int) -> list[Callback]:
    """The callbacks for one fit of ``epochs`` epochs: none when ``patience`` is None."""
    if patience is None:
        return []
    monitor = "val_loss" if validating else "loss"
    callbacks: list[Callback] = [StopWhenStalled(monitor, patience, tol)]
    if validating:  # keeps the best weights; its patience outlasts the fit, so never stops
        callbacks.insert(0, EarlyStopping(monitor, patience=epochs, restore_best_weights=True))
    return callbacks
