"""What ``nnframe train`` does: config to data to network to fit, display and Ctrl-C.

Kept apart from the Typer command (cli/train.py) so that ``nnframe --help`` imports none of
it. Ctrl-C stops training after the current batch and saves what was trained so far; a
second Ctrl-C stops at once.
"""

from __future__ import annotations

import math
import secrets
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import attrs

from nnframe.callbacks import Callback, format_logs
from nnframe.cli.modelio import load_model, save_model
from nnframe.config import Config, load_config, load_data
from nnframe.errors import ConfigError, ModelFileError
from nnframe.network import Network, layer_name

INTERRUPTED = 130
REFRESH_S = 0.1  # seconds between redraws of the progress bar


@attrs.define
class TrainOptions:
    """The command-line options of ``nnframe train``; None means 'as the config says'."""

    config: Path
    epochs: int | None = None
    seed: int | None = None
    output: Path | None = None
    plot: Path | None = None
    quiet: bool = False
    resume: Path | None = None
    checkpoint_every: int | None = None


class StopOnInterrupt(Callback):
    """Turn the first Ctrl-C into ``network.stop_training``; the second one stops at once."""

    def __init__(self) -> None:
        self.interrupted = False
        self._previous: Any = None

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.interrupted:
            raise KeyboardInterrupt
        self.interrupted = True
        self.network.stop_training = True
        print("\nnnframe: interrupted: stopping after this batch (Ctrl-C again to quit now)",
              file=sys.stderr, flush=True)

    def on_train_end(self, logs: dict[str, Any]) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


class EpochDisplay(Callback):
    """A line every ``every`` epochs (and after the last); on a terminal, a bar per epoch.

    The bar is drawn from the training thread (no refresh thread), at most every
    ``REFRESH_S`` seconds, and only for epochs that last longer than that.
    """

    def __init__(self, every: int = 1, console: Any = None) -> None:
        self.every = every
        self.console = console
        self._progress: Any = None

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self.epochs = logs["epochs"]
        self.batches = logs["batches"]
        self._since = time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None:
        self._epoch = epoch
        self._loss = 0.0
        self._drawn = time.perf_counter()

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        if self.console is None:
            return
        self._loss += logs["loss"]
        now = time.perf_counter()
        if now - self._drawn < REFRESH_S:
            return  # redrawn at most every REFRESH_S; epochs shorter than that get no bar
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
        _say(self.console, f"epoch {done}/{self.epochs} - {seconds:.2f}s - {format_logs(logs)}")

    def on_train_end(self, logs: dict[str, Any]) -> None:
        self._stop_bar()

    def _stop_bar(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _say(console: Any, line: str) -> None:
    if console is not None:
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    else:
        print(line, flush=True)


def train(options: TrainOptions) -> int:
    """Run ``nnframe train``; returns the exit status (0, or 130 after Ctrl-C)."""
    config = load_config(options.config)
    if options.resume is not None and options.seed is not None:
        raise ConfigError("--seed cannot be combined with --resume: a resumed run continues "
                          "the random stream saved in the checkpoint")
    if options.plot is not None:
        from nnframe.plotting import require_matplotlib

        require_matplotlib()
    epochs = options.epochs or config.train.epochs
    output = options.output or Path(f"{options.config.stem}.npz")
    console = _console(options.quiet)

    def say(line: str) -> None:
        if not options.quiet:
            _say(console, line)

    data = load_data(config.data)
    say(data.describe(config.data.dataset))
    if options.resume is not None:
        network = _resumed(options.resume, config)
        if network.epoch >= epochs:
            raise ConfigError(f"{options.resume} has already trained {network.epoch} epochs; "
                              f"ask for more with --epochs (now {epochs})")
        say(f"resuming from {options.resume} after epoch {network.epoch}")
    else:
        seed = options.seed if options.seed is not None else config.train.seed
        if seed is None:
            seed = secrets.randbelow(2**31)
            say(f"seed {seed} (none given; pass --seed {seed} to repeat this run)")
        network = config.build_network()
        network.build(data.x_train.shape[1:], seed=seed)
    say(_describe(network, config))

    interrupt = StopOnInterrupt()
    callbacks: list[Callback] = [interrupt]
    if not options.quiet:
        callbacks.append(EpochDisplay(config.train.log_every, console))
    if options.checkpoint_every:
        from nnframe.callbacks import ModelCheckpoint

        callbacks.append(ModelCheckpoint(output, every=options.checkpoint_every))
    history = network.fit(
        data.x_train, data.y_train, epochs=epochs, batch_size=config.train.batch_size,
        shuffle=config.train.shuffle, validation_data=data.validation, callbacks=callbacks,
        verbose=0, initial_epoch=network.epoch,
    )
    if interrupt.interrupted:
        saved = save_model(network, output)
        print(f"nnframe: interrupted after {network.epoch} complete epochs; saved the network "
              f"trained so far to {saved} (resume with: nnframe train {options.config} "
              f"--resume {saved})", file=sys.stderr, flush=True)
        return INTERRUPTED
    scores = network.evaluate(data.x_test, data.y_test)
    _say(console, f"test: {_scores(scores)} ({len(data.x_test):,} samples)")
    saved = save_model(network, output)
    _say(console, f"saved the model to {saved}")
    if options.plot is not None:
        from nnframe.plotting import plot_history

        _say(console, f"saved the training curves to {plot_history(history, options.plot)}")
    return 0


def _console(quiet: bool) -> Any:
    """A rich console on a terminal (progress bars), else None (plain lines)."""
    if quiet or not sys.stdout.isatty():
        return None
    from rich.console import Console

    return Console()


def _resumed(path: Path, config: Config) -> Network:
    from nnframe.registry import get_registry

    network = load_model(path)
    saved = [layer_name(layer) for layer in network.layers]
    wanted = [get_registry().get("layer", spec.name).name for spec in config.layers]
    if saved != wanted:
        raise ConfigError(f"{path} holds the layers {', '.join(saved)}, but {config.source} "
                          f"has {', '.join(wanted)}; resume with the config it was trained with")
    if network.loss is None or network.optimizer is None:
        raise ModelFileError(f"{path} has no loss or optimizer to resume training with; "
                             "resume from a file saved by nnframe train (or with "
                             "include_optimizer=True)")
    return network


def _describe(network: Network, config: Config) -> str:
    return (f"network: {len(network.layers)} layers, {network.count_params():,} parameters, "
            f"{network.dtype}; loss {config.loss.name}, optimizer {config.optimizer.name}; "
            f"batch size {config.train.batch_size}")


def _scores(scores: dict[str, float]) -> str:
    parts = [f"loss {scores['loss']:.4f}"]
    if "accuracy" in scores:
        parts.append(f"accuracy {scores['accuracy']:.2%}")
    return " - ".join(parts)


__all__ = ["EpochDisplay", "StopOnInterrupt", "TrainOptions", "train"]
