"""``nnframe tune``: trials of a config on Optuna, each a training run with sampled values.

Every trial samples a value for each range of ``[tune.space]``, writes them into a copy of
the config, checks it as ``nnframe train`` would, trains it and reports the metric after
each epoch, so that the pruner can stop a trial that is going nowhere. A trial whose
config is refused or whose training diverges is recorded as failed, with its reason as the
trial's ``error`` attribute, and the study goes on. With a storage URL several processes,
on one machine (SQLite) or many (a database server), share one study; each runs its own
``trials``.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from nnframe.config import Splits, load_data, parse_config, read_toml
from nnframe.config.writer import dump_toml
from nnframe.core.contracts import Callback
from nnframe.datasets.network_data import loss_classifies
from nnframe.errors import ConfigError, NNFrameError
from nnframe.extras import require
from nnframe.tune.space import TuneSpec, parse_tune, suggest, with_values

#: The table at the end shortens a failed trial's reason to this (its line says it all).
NOTE_WIDTH = 60
#: Tries to open a storage whose tables another process may be creating at that moment.
STORAGE_ATTEMPTS = 10
#: Seconds a process waits for another's write to a SQLite study before giving up.
SQLITE_TIMEOUT_S = 120


class MetricMissingError(ConfigError):
    """The metric to optimise is not among what the runs log: no trial could report it."""


@attrs.define
class TuneOptions:
    """What ``nnframe tune`` was asked: the config, how many trials, where the study is."""

    config: Path
    trials: int
    storage: str | None = None  #: an Optuna storage URL; None keeps the study in memory
    study: str | None = None  #: the study's name (default: the config file's stem)
    best: Path | None = None  #: where the best config goes (default: <stem>.best.toml)
    plot: Path | None = None  #: the optimisation history as a PNG
    say: Callable[[str], None] = print


class Report(Callback):
    """Report the metric to the trial after each epoch; stop training when the pruner
    says the trial is unpromising."""

    def __init__(self, trial: Any, metric: str) -> None:
        self.trial = trial
        self.metric = metric
        self.values: list[float] = []
        self.pruned_at: int | None = None

    def check_logs(self, names: Any) -> None:
        if self.metric not in names:
            raise MetricMissingError(
                f"[tune] metric {self.metric!r} is not logged by this run, which logs "
                f"{', '.join(sorted(names))}; choose one of these (val_ values need "
                "data.validation_split)")

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        value = float(logs[self.metric])
        self.values.append(value)
        if not math.isfinite(value):
            return  # the trial fails when it ends; an infinite report is refused
        self.trial.report(value, epoch + 1)
        if self.trial.should_prune():
            self.pruned_at = epoch + 1
            self.network.stop_training = True


def tune(options: TuneOptions) -> Any:
    """Run ``options.trials`` trials of the config's ``[tune]`` search; print a line per
    trial, then a table of every trial of the study and the best, and write the best
    trial's config as TOML. Returns the Optuna study."""
    raw = read_toml(options.config)
    source = str(options.config)
    spec = parse_tune(raw, source)
    base_dir = options.config.parent
    parse_config(with_values(raw, {}), source=source, base_dir=base_dir)  # the base runs
    if options.plot is not None:
        from nnframe.callbacks.plotting import require_matplotlib

        require_matplotlib()
    optuna = require("optuna", "tune", "nnframe tune")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=options.study or options.config.stem, storage=_storage(optuna, options),
        load_if_exists=True, direction=spec.direction, pruner=_pruner(optuna, spec),
        sampler=_sampler(optuna, spec, shared=options.storage is not None))
    if study.direction.name.lower() != spec.direction:
        raise ConfigError(f"the study {study.study_name!r} in {options.storage} was made to "
                          f"{study.direction.name.lower()}; [tune] direction says "
                          f"{spec.direction}: use another --study")
    trials = Trials(raw, spec, source, base_dir, optuna)
    options.say(f"study {study.study_name!r}: {options.trials} trials to "
                f"{spec.direction} {spec.metric} over "
                + "; ".join(r.describe() for r in spec.space))
    try:
        for _ in range(options.trials):
            trial = study.ask()
            options.say(trials.run(study, trial))
    finally:
        options.say(trial_table(study, spec.metric))
    best = best_trial(study, optuna)
    if best is None:
        raise ConfigError(f"no trial of the study {study.study_name!r} completed; see the "
                          "errors above")
    target = options.best or Path(f"{options.config.stem}.best.toml")
    options.say(f"best: trial {best.number}, {spec.metric} {best.value:.6g}; "
                f"wrote its config to {write_best(raw, best, options, target)}")
    if options.plot is not None:
        options.say(f"saved the optimisation history to {plot_study(study, options.plot)}")
    return study


@attrs.define
class Trials:
    """Runs one trial at a time; keeps the data sets loaded between trials."""

    raw: dict[str, Any]
    spec: TuneSpec
    source: str
    base_dir: Path
    optuna: Any
    #: loaded data, by the data table and the seed its held-out rows were drawn with
    data: dict[tuple[str, int | None], Splits] = attrs.field(factory=dict)

    def run(self, study: Any, trial: Any) -> str:
        """Train one trial, tell the study how it ended; the line that says so."""
        states = self.optuna.trial.TrialState
        try:
            value, report = self.train(trial)
        except MetricMissingError:
            study.tell(trial, state=states.FAIL)
            raise
        except NNFrameError as exc:
            return self._failed(study, trial, str(exc))
        except KeyboardInterrupt:
            self._failed(study, trial, "interrupted")
            raise
        if report.pruned_at is not None:
            study.tell(trial, state=states.PRUNED)
            return (f"trial {trial.number} pruned after epoch {report.pruned_at}: "
                    f"{self.spec.metric} {report.values[-1]:.6g} - {_params(trial.params)}")
        if not math.isfinite(value):
            return self._failed(study, trial, f"{self.spec.metric} is {value}")
        study.tell(trial, value)
        return (f"trial {trial.number} complete: {self.spec.metric} {value:.6g} - "
                f"{_params(trial.params)}")

    def _failed(self, study: Any, trial: Any, reason: str) -> str:
        trial.set_user_attr("error", reason)
        study.tell(trial, state=self.optuna.trial.TrialState.FAIL)
        return f"trial {trial.number} failed: {reason} - {_params(trial.params)}"

    def train(self, trial: Any) -> tuple[float, Report]:
        values = {spec.path: suggest(trial, spec) for spec in self.spec.space}
        config = parse_config(with_values(self.raw, values),
                              source=f"{self.source} (trial {trial.number})",
                              base_dir=self.base_dir)
        seed = config.train.seed if config.train.seed is not None else trial.number
        key = (json.dumps(attrs.asdict(config.data), sort_keys=True, default=str), seed)
        if key not in self.data:  # as `nnframe train` loads it, held-out rows and all
            self.data[key] = load_data(config.data, seed,
                                       loss_classifies(config.loss.create()))
        data = self.data[key]
        network = config.build_network()
        network.build(data.x_train.shape[1:], seed=seed)
        network.schema = data.schema
        report = Report(trial, self.spec.metric)
        callbacks = [_per_trial(callback, trial.number)
                     for callback in config.train.create_callbacks()]
        network.fit(data.x_train, data.y_train, epochs=config.train.epochs,
                    batch_size=config.train.batch_size, shuffle=config.train.shuffle,
                    validation_data=data.validation, verbose=0,
                    callbacks=[report, *callbacks],
                    schedule=config.train.create_schedule(), clip_norm=config.train.clip_norm,
                    class_weight=config.train.class_weight)
        return report.values[-1], report


def _per_trial(callback: Any, number: int) -> Any:
    """A tracker of the config, made to keep each trial apart: TensorBoard writes into
    ``<log_dir>/trial-<n>`` (a run of its own in TensorBoard), an MLflow run is named
    ``trial-<n>`` unless the config names it."""
    from nnframe.callbacks import MLflowLogger, TensorBoard

    if isinstance(callback, TensorBoard):
        callback.log_dir = str(Path(callback.log_dir) / f"trial-{number}")
    elif isinstance(callback, MLflowLogger) and callback.run_name is None:
        callback.run_name = f"trial-{number}"
    return callback


def _storage(optuna: Any, options: TuneOptions) -> Any:
    """The storage for ``--storage``: SQLite with a long lock timeout, so that processes
    sharing one file wait for each other instead of failing with "database is locked"."""
    url = options.storage
    if url is None:
        return None
    engine: dict[str, Any] = {}
    if url.startswith("sqlite:"):
        engine = {"connect_args": {"timeout": SQLITE_TIMEOUT_S}}
    attempt = 0
    while True:
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine)
        except Exception as exc:  # a bad URL, a missing driver, a server that is not there
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            # processes started together on a new database race to create its tables:
            # the loser finds them made (or locked) and tries again
            racing = (type(exc).__name__ == "IntegrityError" or "already exists" in reason
                      or "locked" in reason)
            attempt += 1
            if not racing or attempt >= STORAGE_ATTEMPTS:
                raise ConfigError(f"--storage {url}: cannot open the study storage "
                                  f"({type(exc).__name__}: {reason})") from None
            time.sleep(0.2 * attempt)


def _sampler(optuna: Any, spec: TuneSpec, shared: bool) -> Any:
    """Optuna's TPE sampler. Alone, ``[tune] seed`` makes the search repeatable; processes
    sharing a study draw their own values (one seed would have each propose the same
    trials) and count the others' running trials as bad ones (the constant liar), so
    that they do not all explore one spot."""
    if shared:
        return optuna.samplers.TPESampler(constant_liar=True)
    return optuna.samplers.TPESampler(seed=spec.seed)


def _pruner(optuna: Any, spec: TuneSpec) -> Any:
    classes = {"median": "MedianPruner", "percentile": "PercentilePruner",
               "successive_halving": "SuccessiveHalvingPruner",
               "hyperband": "HyperbandPruner", "none": "NopPruner"}
    factory = getattr(optuna.pruners, classes[spec.pruner.name])
    try:
        return factory(**spec.pruner.arguments)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[tune] pruner {spec.pruner.name!r}: {exc}") from None


def best_trial(study: Any, optuna: Any) -> Any:
    """The best complete trial, or None."""
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return study.best_trial if done else None


def trial_table(study: Any, metric: str) -> str:
    """Every trial of the study, in order: state, metric, sampled values, what happened."""
    trials = study.get_trials(deepcopy=False)
    paths = list(dict.fromkeys(path for trial in trials for path in trial.params))
    header = ["trial", "state", metric, *paths, "note"]
    rows = []
    for trial in trials:
        state = trial.state.name.lower()
        value = trial.value if trial.value is not None else (
            trial.intermediate_values[max(trial.intermediate_values)]
            if trial.intermediate_values else None)
        note = trial.user_attrs.get("error", "")
        if state == "pruned" and trial.intermediate_values:
            note = f"stopped after epoch {max(trial.intermediate_values)}"
        if len(note) > NOTE_WIDTH:
            note = note[:NOTE_WIDTH - 3] + "..."
        rows.append([str(trial.number), state, "" if value is None else f"{value:.6g}",
                     *(_shown(trial.params.get(path, "")) for path in paths), note])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             .rstrip() for row in [header, *rows]]
    return "\n".join(lines)


def write_best(raw: dict[str, Any], best: Any, options: TuneOptions, target: Path) -> Path:
    """The base config with the best trial's values (no ``[tune]`` table), as TOML that
    ``nnframe train`` runs; a relative ``data.data_dir`` is made absolute when the file
    goes to another folder."""
    from nnframe.modelfile.atomic import write_atomic

    document = with_values(raw, best.params)
    data = document.get("data", {})
    folder = options.config.parent
    if (isinstance(data.get("data_dir"), str) and not Path(data["data_dir"]).is_absolute()
            and target.parent.resolve() != folder.resolve()):
        data["data_dir"] = str((folder / data["data_dir"]).resolve())
    study = options.study or options.config.stem
    header = (f"The best trial ({best.number}) of the study {study!r}, from {options.config}"
              f"\nby nnframe tune: {_params(best.params)}."
              f"\nTrain it with: nnframe train {target}")
    text = dump_toml(document, header).encode("utf-8")
    return write_atomic(target, lambda file: file.write(text))


def plot_study(study: Any, path: Path) -> Path:
    """The optimisation history (each trial's value, and the best so far) as a PNG."""
    import matplotlib
    import matplotlib.pyplot

    from nnframe.modelfile.atomic import write_atomic

    matplotlib.use("Agg")
    from optuna.visualization.matplotlib import plot_optimization_history

    with warnings.catch_warnings():  # optuna marks its matplotlib plots experimental
        warnings.simplefilter("ignore")
        axes = plot_optimization_history(study)
    figure = axes.figure
    figure.tight_layout()
    try:
        return write_atomic(path, lambda file: figure.savefig(file, format="png", dpi=100))
    finally:
        matplotlib.pyplot.close(figure)


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{path}={_shown(value)}" for path, value in params.items())


def _shown(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
