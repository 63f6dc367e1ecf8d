"""`ProgressDisplay`: a line per epoch, and during each epoch a progress bar on a terminal
or, when the output is a file or a pipe (a batch job's log), a progress line every
``LINE_EVERY_S`` seconds, as Keras' ``verbose=2`` and tqdm do."""

from __future__ import annotations

import math
import sys
import time
from typing import Any

from nnframe.core.contracts import Callback

REFRESH_S = 0.1  # seconds between redraws of the progress bar
#: Seconds of silence after which a progress line is printed when the output is no terminal.
LINE_EVERY_S = 30.0


def format_logs(logs: dict[str, float]) -> str:
    """``loss: 0.1234 - accuracy: 0.9612``."""
    return " - ".join(f"{key}: {value:.4f}" for key, value in logs.items())


class ProgressDisplay(Callback):
    """A line every ``every`` epochs (and after the last); with a rich ``console``, a bar
    during each epoch (batches, ETA, running loss).

    The bar is drawn from the training thread (no refresh thread), at most every
    ``REFRESH_S`` seconds and only for epochs that last longer than that. Without a
    console the lines are printed to stdout, and when ``line_every`` seconds pass without
    one, a line says where the epoch is (``epoch 2/10 - batch 120/938 - 30.0s - loss:
    0.4321``); None turns those off. A line covering several epochs says so (``12.5s for
    10 epochs``).
    """

    root_only = True  # one process prints

    def __init__(self, every: int = 1, console: Any = None,
                 line_every: float | None = LINE_EVERY_S) -> None:
        self.every = every
        self.console = console
        self.line_every = line_every
        self._progress: Any = None

    @classmethod
    def for_verbosity(cls, verbose: int) -> ProgressDisplay | None:
        """The display for ``fit(verbose=...)``: 0 nothing, 1 a bar on a terminal (else
        lines), 2 lines."""
        return FitDisplay(verbose) if verbose else None

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self.epochs = logs["epochs"]
        self.batches = logs["batches"]
        self._since = self._line_at = time.perf_counter()
        self._first: int | None = None  # the first epoch the next line covers

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None:
        self._epoch = epoch
        self._loss = 0.0
        self._drawn = self._epoch_start = time.perf_counter()
        if self._first is None:  # a resumed run starts later than epoch 0
            self._first = epoch

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        self._loss += logs["loss"]
        now = time.perf_counter()
        if self.console is None:
            if self.line_every is not None and now - self._line_at >= self.line_every:
                self._line_at = now
                print(f"epoch {self._epoch + 1}/{self.epochs} - batch {batch + 1}/"
                      f"{self.batches} - {now - self._epoch_start:.1f}s - loss: "
                      f"{self._loss / (batch + 1):.4f}", flush=True)
            return
        if now - self._drawn < REFRESH_S:
            return
        self._drawn = now
        if self._progress is None:
            self._start_bar()
        self._progress.update(self._task, completed=batch + 1, loss=self._loss / (batch + 1))
        self._progress.refresh()

    def _start_bar(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn(f"epoch {self._epoch + 1}/{self.epochs}"), BarColumn(),
            MofNCompleteColumn(), TextColumn("eta"), TimeRemainingColumn(),
            TextColumn("loss {task.fields[loss]:.4f}"),
            console=self.console, transient=True, auto_refresh=False)
        self._task = self._progress.add_task("train", total=self.batches, loss=math.nan)
        self._progress.start()

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self._stop_bar()
        done = epoch + 1
        if done % self.every and done != self.epochs and not self.network.stop_training:
            return
        now = time.perf_counter()
        seconds, self._since = now - self._since, now  # since the last line
        covered, self._first = done - (self._first or 0), done
        span = f"{seconds:.2f}s" + (f" for {covered} epochs" if covered > 1 else "")
        self.say(f"epoch {done}/{self.epochs} - {span} - {format_logs(logs)}")

    def on_train_end(self, logs: dict[str, Any]) -> None:
        self._stop_bar()

    def say(self, line: str) -> None:
        """Print one line through the console (or to stdout)."""
        self._line_at = time.perf_counter()
        if self.console is not None:
            self.console.print(line, highlight=False, markup=False, soft_wrap=True)
        else:
            print(line, flush=True)

    def _stop_bar(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


class FitDisplay(ProgressDisplay):
    """The display `Network.fit` shows, registered as the callback ``progress_display``:
    ``verbose`` 1 draws a bar on a terminal (lines elsewhere), 2 prints lines."""

    def __init__(self, verbose: int = 1) -> None:
        console = None
        if verbose == 1 and sys.stdout.isatty():
            from rich.console import Console

            console = Console()
        super().__init__(console=console)
        self.verbose = verbose

    def get_config(self) -> dict[str, Any]:
        return {"verbose": self.verbose}
