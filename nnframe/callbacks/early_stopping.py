"""`EarlyStopping`: stop when a monitored value stops improving."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from nnframe.core.contracts import Callback
from nnframe.errors import ConfigError
from nnframe.monitor import Monitor


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    ``mode`` "auto" reads the name: losses and errors must go down, accuracies and scores
    up. With ``restore_best_weights`` the network ends with the weights (and layer state)
    of its best epoch.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 0, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = False) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ConfigError(f"EarlyStopping: patience must be an integer >= 0, got {patience!r}")
        try:
            self._monitor = Monitor(monitor, mode, min_delta)
        except ConfigError as exc:
            raise ConfigError(f"EarlyStopping: {exc}") from None
        self.monitor = monitor
        self.patience = patience
        self.min_delta = abs(float(min_delta))
        self.mode = mode
        self.restore_best_weights = bool(restore_best_weights)
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self._best_snapshot: Any = None

    @property
    def best(self) -> float:
        """The best value of ``monitor`` so far."""
        return self._monitor.best

    def check_logs(self, names: Collection[str]) -> None:
        self._monitor.check(names, "EarlyStopping")

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self._monitor.reset()
        self.best_epoch = self.stopped_epoch = None
        self._best_snapshot = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        value = self._monitor.value(logs, "EarlyStopping")
        if self._monitor.update(value):
            self.best_epoch = epoch
            if self.restore_best_weights:
                self._best_snapshot = self.network.snapshot()
        elif self._monitor.wait > self.patience:
            self.stopped_epoch = epoch
            self.network.stop_training = True

    def on_train_end(self, logs: dict[str, Any]) -> None:
        if self.restore_best_weights and self._best_snapshot is not None:
            self.network.restore(self._best_snapshot)
