"""`TensorBoard`: a run's scalars, histograms and settings as TensorBoard event files."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any, ClassVar

from nnframe.callbacks.tracking import batch_step, epoch_step, run_params
from nnframe.checks.arguments import check_int
from nnframe.core.contracts import Callback
from nnframe.errors import ConfigError, ModelFileError

#: Seconds between writes of the event file (its writer thread flushes; training never
#: waits for it): how soon a running TensorBoard sees a new epoch.
FLUSH_S = 10


class TensorBoard(Callback):
    """Write what a run logs as TensorBoard event files in ``log_dir`` (one folder per run:
    TensorBoard shows each folder under the directory it watches as a run).

    Every epoch: its logs (``loss``, metrics, ``val_`` values) and ``learning_rate`` as
    scalars at step ``epoch + 1`` (epochs trained). ``batch_every`` > 0 adds the batch loss
    (``batch/loss``) every that many batches, at the step of batches trained. ``histograms``
    > 0 adds every parameter's values (``weights/<key>``) and the gradient of the epoch's
    last batch (``gradients/<key>``) every that many epochs. With ``hparams`` the run's
    settings (layers, loss, optimizer, batch size, epochs) go to the HParams view beside the
    final values of what it logs.

    A run resumed into the same ``log_dir`` writes a new event file there, which TensorBoard
    reads as the same run; its steps continue where the saved run stopped. Needs the
    ``tensorboard`` extra (tensorboardX writes the files).
    """

    #: `nnframe check` builds it with a folder name (nothing is written).
    check_hints: ClassVar[dict] = {"config": {"log_dir": "runs/check"}}
    root_only = True  # one process writes the files

    def __init__(self, log_dir: str | os.PathLike[str] = "runs", batch_every: int = 0,
                 histograms: int = 0, hparams: bool = True) -> None:
        for name, value in (("batch_every", batch_every), ("histograms", histograms)):
            try:
                check_int(name, value, minimum=0)
            except ConfigError as exc:
                raise ConfigError(f"TensorBoard: {exc}") from None
        self.log_dir = os.fspath(log_dir)
        self.batch_every = batch_every
        self.histograms = histograms
        self.hparams = bool(hparams)
        self._writer: Any = None
        self._names: list[str] = []

    def check_logs(self, names: Any) -> None:
        self._names = sorted(names)

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        from nnframe.extras import require

        tensorboardx = require("tensorboardX", "tensorboard", "logging to TensorBoard")
        folder = Path(self.log_dir)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelFileError(f"TensorBoard cannot create the log directory {folder}: "
                                 f"{exc.strerror or exc}") from None
        new_run = not any(folder.glob("events.out.tfevents.*"))
        self._batches = logs["batches"]
        # the file name holds the second it was made in: a suffix keeps a run resumed in
        # that same second from writing over the file of the run it continues
        self._writer = tensorboardx.SummaryWriter(logdir=str(folder), flush_secs=FLUSH_S,
                                                  filename_suffix=f".{uuid.uuid4().hex[:8]}")
        if self.hparams and new_run:  # a resumed run keeps the settings it started with
            from tensorboardX.summary import hparams

            settings = run_params(self.network, {"epochs": logs["epochs"],
                                                 "batch_size": logs.get("batch_size")})
            experiment, start, self._end = hparams(settings, dict.fromkeys(self._names, 0.0))
            self._writer.file_writer.add_summary(experiment)
            self._writer.file_writer.add_summary(start)
        else:
            self._end = None

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None:
        self._epoch = epoch

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        if self.batch_every and (batch + 1) % self.batch_every == 0:
            step = batch_step(self._epoch, batch, self._batches)
            self._writer.add_scalar("batch/loss", logs["loss"], step)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        step = epoch_step(epoch)
        writer = self._writer
        for key, value in logs.items():
            writer.add_scalar(key, value, step)
        optimizer = self.network.optimizer
        if optimizer is not None and hasattr(optimizer, "learning_rate"):
            writer.add_scalar("learning_rate", float(optimizer.learning_rate), step)
        if self.histograms and step % self.histograms == 0:
            for parameter in self.network.parameters():
                writer.add_histogram(f"weights/{parameter.key}", parameter.value, step)
                writer.add_histogram(f"gradients/{parameter.key}", parameter.grad, step)

    def on_train_end(self, logs: dict[str, Any]) -> None:
        if self._writer is None:
            return
        if self._end is not None:
            self._writer.file_writer.add_summary(self._end)
        self._writer.close()
        self._writer = None
