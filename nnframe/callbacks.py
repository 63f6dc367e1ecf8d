"""Training callbacks: `History` (always), `EarlyStopping`, `ModelCheckpoint`, the display.

A callback subclasses `Callback` and overrides any of ``on_train_begin``, ``on_train_end``,
``on_epoch_begin``, ``on_epoch_end`` and ``on_batch_end``; ``self.network`` is the network
being trained. Setting ``network.stop_training = True`` ends `fit` after the current batch.
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnframe.errors import ConfigError

if TYPE_CHECKING:
    from nnframe.network import Network


class Callback:
    """Base class: every hook does nothing."""

    network: Network

    def set_network(self, network: Network) -> None:
        self.network = network

    def on_train_begin(self, logs: dict[str, Any]) -> None: ...

    def on_train_end(self, logs: dict[str, Any]) -> None: ...

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None: ...

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None: ...


class History(Callback):
    """Records the metrics of every epoch: ``history["loss"][i]`` is epoch ``epoch[i]``'s."""

    def __init__(self) -> None:
        self.epoch: list[int] = []
        self.history: dict[str, list[float]] = {}

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, metrics={list(self.history)})"


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    With ``restore_best_weights`` the network ends with the weights of its best epoch.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 0,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = False,
    ) -> None:
        if mode not in ("auto", "min", "max"):
            raise ConfigError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got {mode!r}")
        if not isinstance(patience, int) or patience < 0:
            raise ConfigError(f"EarlyStopping: patience must be an integer >= 0, got {patience!r}")
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        self.monitor = monitor
        self.patience = patience
        self.min_delta = abs(float(min_delta))
        self.mode = mode
        self.restore_best_weights = restore_best_weights
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self._wait = 0
        self._best_weights: list[np.ndarray] | None = None

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = self.stopped_epoch = None
        self._wait = 0
        self._best_weights = None

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise ConfigError(
                f"EarlyStopping monitors {self.monitor!r} but training reports only "
                f"{', '.join(logs)}; pass validation_data (or validation_split) or "
                "monitor one of those"
            )
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self._wait = value, epoch, 0
            if self.restore_best_weights:
                self._best_weights = [p.value.copy() for p in self.network.parameters()]
            return
        self._wait += 1
        if self._wait > self.patience:
            self.stopped_epoch = epoch
            self.network.stop_training = True

    def on_train_end(self, logs: dict[str, Any]) -> None:
        if self.restore_best_weights and self._best_weights is not None:
            for parameter, best in zip(self.network.parameters(), self._best_weights, strict=True):
                np.copyto(parameter.value, best)


class ModelCheckpoint(Callback):
    """Save the network every ``every`` epochs, atomically, to resume training later.

    ``path`` may contain ``{epoch}`` (or a format such as ``{epoch:03d}``): the number of
    epochs trained when the file was written; without it each checkpoint replaces the last.
    Missing directories are created. Checkpoints include the optimizer state and training
    position unless ``include_optimizer=False``. ``saved`` lists the files written, in order.
    """

    def __init__(self, path: str | os.PathLike[str], every: int = 1, *,
                 include_optimizer: bool = True) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ConfigError(f"ModelCheckpoint: every must be an integer >= 1, got {every!r}")
        self.path = os.fspath(path)
        try:
            self.path.format(epoch=0)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                f"ModelCheckpoint: path {self.path!r} is not a valid template ({exc}); the "
                "only field is {epoch}, and literal braces are written {{ and }}"
            ) from None
        self.every = every
        self.include_optimizer = include_optimizer
        self.saved: list[Path] = []

    def path_for(self, epochs_done: int) -> Path:
        """The file for the checkpoint taken after ``epochs_done`` epochs."""
        return Path(self.path.format(epoch=epochs_done))

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        done = epoch + 1
        if done % self.every == 0:
            target = self.path_for(done)
            target.parent.mkdir(parents=True, exist_ok=True)
            path = self.network.save(target, include_optimizer=self.include_optimizer)
            self.saved.append(path)


def format_logs(logs: dict[str, float]) -> str:
    return " - ".join(f"{key}: {value:.4f}" for key, value in logs.items())


class EpochLogger(Callback):
    """One plain line per epoch: for logs, pipes and ``verbose=2``."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self.epochs = logs["epochs"]

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        seconds = time.perf_counter() - self._start
        stream = self.stream or sys.stdout
        print(f"epoch {epoch + 1}/{self.epochs} - {seconds:.2f}s - {format_logs(logs)}",
              file=stream, flush=True)


class ProgressBar(Callback):
    """A rich progress bar per epoch (batches, ETA, running loss), then the epoch's line."""

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console

        self.console = console or Console()

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self.epochs = logs["epochs"]
        self.batches = logs["batches"]

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._start = time.perf_counter()
        self._loss_sum = 0.0
        self._progress = Progress(
            TextColumn(f"epoch {epoch + 1}/{self.epochs}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("loss {task.fields[loss]:.4f}"),
            console=self.console,
            transient=True,
        )
        self._task = self._progress.add_task("train", total=self.batches, loss=math.nan)
        self._progress.start()

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        self._loss_sum += logs["loss"]
        self._progress.update(self._task, advance=1, loss=self._loss_sum / (batch + 1))

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self._progress.stop()
        seconds = time.perf_counter() - self._start
        self.console.print(
            f"epoch {epoch + 1}/{self.epochs} - {seconds:.2f}s - {format_logs(logs)}",
            highlight=False,
        )

    def on_train_end(self, logs: dict[str, Any]) -> None:
        progress = getattr(self, "_progress", None)
        if progress is not None:
            progress.stop()


def progress_callback(verbose: int) -> Callback | None:
    """The display for a verbosity: 0 nothing, 1 a bar on a terminal (else lines), 2 lines."""
    if not verbose:
        return None
    if verbose == 1 and sys.stdout.isatty():
        return ProgressBar()
    return EpochLogger()
