"""What ``nnframe train`` does: config to data to network to fit, display and Ctrl-C.

Kept apart from the Typer command (`nnframe.cli.train`) so that ``nnframe --help`` imports
none of it. Ctrl-C stops training after the current batch and saves the network with its
exact position, so that ``--resume`` continues as if nothing had happened (after the checks
of `nnframe.modelfile.resume`); a second Ctrl-C stops at once. SIGTERM (what ``timeout``,
Slurm's preemption and ``docker stop`` send) does the same, and the exit status is then 143
(128 + 15) instead of 130.

Started by an MPI launcher as several processes (``mpiexec -n 4 nnframe train cfg.toml``),
every process reads the config and the data and trains its share of every batch
(`nnframe.distributed`); rank 0 alone prints, saves, checkpoints and plots, and an error
on any process stops them all.
"""

from __future__ import annotations

import secrets
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import attrs

from nnframe.callbacks import ModelCheckpoint, ProgressDisplay
from nnframe.cli.files import load_model
from nnframe.config import Config, load_config, load_data
from nnframe.core.contracts import Callback
from nnframe.core.network import Network
from nnframe.core.registry import component_name
from nnframe.datasets.network_data import loss_classifies
from nnframe.distributed import Strategy, ThreadStrategy, from_launcher, launch
from nnframe.errors import ConfigError, NNFrameError, TrainingDivergedError
from nnframe.modelfile.resume import check_resumable, kept_from_checkpoint
from nnframe.modelfile.save import check_saveable

INTERRUPTED = 130
TERMINATED = 143
_SIGNALS = {signal.SIGINT: ("interrupted", "Ctrl-C", INTERRUPTED),
            signal.SIGTERM: ("terminated (SIGTERM)", "SIGTERM", TERMINATED)}


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
    debug: bool = False


class StopOnInterrupt(Callback):
    """Turn the first Ctrl-C or SIGTERM into ``network.stop_training``; a second one stops
    at once. ``status`` is the exit status the stop calls for (130 for Ctrl-C, 143 for
    SIGTERM). With ``announce`` false it says nothing (the processes other than rank 0)."""

    def __init__(self, announce: bool = True) -> None:
        self.interrupted = False
        self.status = INTERRUPTED
        self.announce = announce
        self._previous: dict[int, Any] = {}

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        if threading.current_thread() is threading.main_thread():
            for signum in _SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.interrupted:
            raise KeyboardInterrupt
        what, key, self.status = _SIGNALS[signum]
        self.interrupted = True
        self.network.stop_training = True
        if self.announce:
            print(f"\nnnframe: {what}: stopping after this batch ({key} again to quit "
                  "now)", file=sys.stderr, flush=True)

    def on_train_end(self, logs: dict[str, Any]) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous = {}


def train(options: TrainOptions) -> int:
    """Run ``nnframe train``; returns the exit status (0, or 130 after Ctrl-C)."""
    strategy = _strategy()
    try:
        with strategy.failures(show_traceback=options.debug):
            return _train(options, strategy)
    except TrainingDivergedError:
        if strategy.is_root:
            raise
        return 2  # every process diverged together; rank 0 says so


def _strategy() -> Strategy:
    """One process, or data parallelism when an MPI launcher started several. When that
    cannot start (no mpi4py), rank 0 says why and the other processes exit quietly."""
    try:
        return from_launcher()
    except NNFrameError:
        if launch().rank == 0:
            raise
        raise SystemExit(2) from None


def _threads_if_asked(config: Config, strategy: Strategy) -> Strategy:
    """``[train] strategy = "threads"``: each batch split over this process's threads;
    refused under an MPI launcher, where each process already trains its share."""
    if config.train.strategy != "threads":
        return strategy
    if strategy.size > 1:
        raise ConfigError('train.strategy = "threads" splits each batch over the threads of '
                          "one process, but mpiexec started several: remove it from the "
                          "config, or train without mpiexec")
    return ThreadStrategy()


def _train(options: TrainOptions, strategy: Strategy) -> int:
    root = strategy.is_root
    config = load_config(options.config)
    strategy = _threads_if_asked(config, strategy)
    if options.resume is not None and options.seed is not None:
        raise ConfigError("--seed cannot be combined with --resume: a resumed run continues "
                          "the random stream saved in the checkpoint")
    if options.plot is not None:
        from nnframe.callbacks.plotting import require_matplotlib

        require_matplotlib()
    epochs = options.epochs or config.train.epochs
    output = options.output or Path(f"{options.config.stem}.npz")
    display = None
    if root and not options.quiet:
        display = ProgressDisplay(config.train.log_every, _console())
    say = display.say if display is not None else (lambda line: None)
    checkpoint = load_model(options.resume) if options.resume is not None else None
    if checkpoint is not None:  # the very rows the run was split into
        seed = checkpoint.train_state.notes.get("data_seed", config.train.seed)
    else:
        seed = options.seed if options.seed is not None else config.train.seed
        if seed is None:
            seed = strategy.agree(secrets.randbelow(2**31))
            say(f"seed {seed} (none given; pass --seed {seed} to repeat this run)")
    with strategy.root_first():  # on many processes, rank 0 downloads missing files
        data = load_data(config.data, seed, loss_classifies(config.loss.create()))
    say(data.describe(_data_name(config)))
    if checkpoint is not None:
        network = checkpoint
        check_resumable(network, config, data.x_train.shape[1:], epochs=epochs,
                        source=options.resume)
        where = f"epoch {network.epoch}"
        if network.resume_point is not None:
            where += f" and batch {network.resume_point['batch']} of epoch {network.epoch + 1}"
        say(f"resuming from {options.resume} after {where}")
        note = kept_from_checkpoint(network, config, options.resume)
        if note:
            say(note)
    else:
        network = config.build_network()
        network.build(data.x_train.shape[1:], seed=seed)
        network.schema = data.schema
        if seed is not None:
            network.train_state = network.train_state.note("data_seed", int(seed))
    say(_describe(network, config, strategy))
    kernel = _kernel_line(network)
    if kernel:
        say(kernel)

    interrupt = StopOnInterrupt(announce=root)
    callbacks: list[Callback] = [interrupt, *config.train.create_callbacks()]
    if display is not None:
        callbacks.append(display)
    if options.checkpoint_every:
        callbacks.append(ModelCheckpoint(output, every=options.checkpoint_every))
    if root:  # a network that could not be saved is refused now, not after training
        check_saveable(network)
    start = (network.epoch, network.resume_point)
    try:
        history = network.fit(
            data.x_train, data.y_train, epochs=epochs, batch_size=config.train.batch_size,
            shuffle=config.train.shuffle, validation_data=data.validation,
            callbacks=callbacks, verbose=0, initial_epoch=network.epoch,
            schedule=config.train.create_schedule(), clip_norm=config.train.clip_norm,
            strategy=strategy, class_weight=config.train.class_weight,
        )
    except (NNFrameError, OSError) as exc:
        trained = (network.epoch, network.resume_point) != start
        if root and trained and not isinstance(exc, TrainingDivergedError):
            _save_after_failure(network, output, options)
        raise
    if strategy.any(interrupt.interrupted):  # Ctrl-C reaches each process on its own
        if not root:
            return interrupt.status
        return _save_interrupted(network, output, options, interrupt.status)
    if not root:
        return 0  # rank 0 tests, saves and plots the model every process holds
    if data.x_test is not None:
        scores = network.evaluate(data.x_test, data.y_test)
        if data.schema is not None and data.schema.classes is None:
            from nnframe.cli.inference import r_squared

            scores["r2"] = r_squared(data.y_test, network.predict(data.x_test))
        _print(display, f"test: {_scores(scores)} ({len(data.x_test):,} samples)")
    saved = network.save(output)
    _print(display, f"saved the model to {saved}")
    if options.plot is not None:
        from nnframe.callbacks.plotting import plot_history

        _print(display, f"saved the training curves to {plot_history(history, options.plot)}")
    return 0


def _save_interrupted(network: Network, output: Path, options: TrainOptions,
                      status: int = INTERRUPTED) -> int:
    """Save a run stopped by Ctrl-C or SIGTERM with its exact position; never over the last
    clean checkpoint (with --checkpoint-every, beside it as ``<name>.interrupted.npz``).
    Returns ``status``."""
    target = output
    if options.checkpoint_every:
        target = output.with_name(f"{output.stem}.interrupted{output.suffix or '.npz'}")
    saved = network.save(target)
    what = "interrupted" if status == INTERRUPTED else "terminated"
    print(f"nnframe: {what} after {_position(network)}; saved the network trained so "
          f"far to {saved} (resume with: {resume_command(options, saved)})",
          file=sys.stderr, flush=True)
    return status


def _save_after_failure(network: Network, output: Path, options: TrainOptions) -> None:
    """Keep what was trained when training stops on an error (a callback that cannot write
    its file, a full disk): save it to the output (beside the last checkpoint with
    --checkpoint-every) with its exact position, then let the error be reported."""
    target = output
    if options.checkpoint_every:
        target = output.with_name(f"{output.stem}.failed{output.suffix or '.npz'}")
    try:
        saved = network.save(target)
    except (NNFrameError, OSError) as exc:
        print(f"nnframe: training stopped by an error, and saving what was trained to "
              f"{target} failed too ({exc})", file=sys.stderr, flush=True)
        return
    print(f"nnframe: training stopped by the error below after {_position(network)}; saved "
          f"the network trained so far to {saved} (resume with: "
          f"{resume_command(options, saved)})", file=sys.stderr, flush=True)


def _position(network: Network) -> str:
    where = f"{network.epoch} complete epochs"
    if network.resume_point is not None:
        where += f" and {network.resume_point['batch']} batches of epoch {network.epoch + 1}"
    return where


def resume_command(options: TrainOptions, saved: Path) -> str:
    """The command that continues this run from ``saved``, with the options it was given."""
    parts = ["nnframe train", str(options.config), "--resume", str(saved)]
    if options.epochs is not None:
        parts += ["--epochs", str(options.epochs)]
    if options.output is not None:
        parts += ["-o", str(options.output)]
    if options.checkpoint_every:
        parts += ["--checkpoint-every", str(options.checkpoint_every)]
    if options.plot is not None:
        parts += ["--plot", str(options.plot)]
    if options.quiet:
        parts.append("-q")
    return " ".join(shlex.quote(part) if part != "nnframe train" else part for part in parts)


def _console() -> Any:
    """A rich console on a terminal (progress bars), else None (plain lines)."""
    if not sys.stdout.isatty():
        return None
    from rich.console import Console

    return Console()


def _print(display: ProgressDisplay | None, line: str) -> None:
    """Results are printed even with --quiet."""
    if display is not None:
        display.say(line)
    else:
        print(line, flush=True)


def _data_name(config: Config) -> str:
    """The data as the banner names it: a named set, or a reader's file."""
    arguments = config.data.arguments
    path = arguments.get("path") or arguments.get("x")
    return Path(path).name if isinstance(path, str) else config.data.dataset


def _describe(network: Network, config: Config, strategy: Strategy) -> str:
    loss = component_name("loss", network.loss)
    optimizer = component_name("optimizer", network.optimizer)
    spread = f", split over {strategy.describe()}" if strategy.splits else ""
    return (f"network: {len(network.layers)} layers, {network.count_params():,} parameters, "
            f"{network.dtype}; loss {loss}, optimizer {optimizer} (learning rate "
            f"{network.optimizer.learning_rate:g}); batch size {config.train.batch_size}"
            f"{spread}")


def _kernel_line(network: Network) -> str | None:
    """Which version of its kernel the optimizer runs (chosen now: a plugin's is imported
    and checked), or None for an optimizer without one."""
    from nnframe.speed.kernels import choices

    name = getattr(network.optimizer, "kernel", None)
    if not isinstance(name, str):
        return None
    (choice,) = choices((name,))
    return f"kernel: {choice.describe()}"


def _scores(scores: dict[str, float]) -> str:
    parts = [f"loss {scores['loss']:.4f}"]
    parts += [f"{key} {value:.2%}" if "accuracy" in key else f"{key} {value:.4f}"
              for key, value in scores.items() if key != "loss"]
    return " - ".join(parts)


__all__ = ["StopOnInterrupt", "TrainOptions", "train"]
