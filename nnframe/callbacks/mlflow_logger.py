"""`MLflowLogger`: a run's settings, metrics and model file as an MLflow run."""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

from nnframe.callbacks.tracking import batch_step, epoch_step, run_params, run_tags
from nnframe.checks.arguments import check_int
from nnframe.core.contracts import Callback
from nnframe.errors import ConfigError, ModelFileError

#: MLflow takes at most this many params (and metrics) in one ``log_batch`` call.
BATCH_LIMIT = 100
#: Where a resumable run keeps its MLflow run in ``network.train_state.notes``.
STATE_KEY = "mlflow"


def store_uri(tracking_uri: str | None) -> str | None:
    """The MLflow tracking URI for ``tracking_uri``: a URI (``sqlite:///runs.db``,
    ``http://host:5000``) as it is; a plain folder path as the SQLite database
    ``<folder>/mlflow.db`` (no server needed); None for MLflow's own default
    (``MLFLOW_TRACKING_URI``)."""
    if tracking_uri is None or "://" in tracking_uri or tracking_uri.startswith("sqlite:"):
        return tracking_uri
    return f"sqlite:///{Path(tracking_uri).resolve() / 'mlflow.db'}"


def mlflow_key(path: str) -> str:
    """A config path as an MLflow name, which may not hold brackets:
    ``model.layers[1].output_size`` becomes ``model.layers.1.output_size``."""
    return re.sub(r"\[(\d+)\]", r".\1", path)


class MLflowLogger(Callback):
    """Track a run in MLflow: the network's settings as params (``model.layers.1.output_size``,
    ``optimizer.learning_rate``, ``train.batch_size``, ...; MLflow names hold no brackets,
    so a config's ``[1]`` becomes ``.1``), the nnframe version and the
    distribution of every component as tags, every epoch's logs and ``learning_rate`` as
    metrics at step ``epoch + 1``, and at the end the trained model file as the artifact
    ``model/model.npz`` (unless ``log_model`` is false).

    ``tracking_uri`` is an MLflow URI (``sqlite:///mlflow.db``, a server's ``http://...``)
    or a plain folder, which holds ``mlflow.db`` and the artifacts; None uses MLflow's
    default. ``experiment`` is created when missing. ``batch_every`` > 0 also logs the
    batch loss (``batch/loss``) every that many batches.

    The run's id is kept in the network's training position, so a run saved (Ctrl-C, a
    checkpoint) and resumed with ``--resume`` continues the same MLflow run, its steps
    following on. Needs the ``mlflow`` extra.
    """

    #: `nnframe check` builds it with a folder (nothing is written).
    check_hints: ClassVar[dict] = {"config": {"tracking_uri": "mlruns"}}
    root_only = True  # one process talks to the tracking store

    def __init__(self, tracking_uri: str | os.PathLike[str] | None = None,
                 experiment: str = "nnframe", run_name: str | None = None,
                 log_model: bool = True, batch_every: int = 0) -> None:
        if not isinstance(experiment, str) or not experiment:
            raise ConfigError(f"MLflowLogger: experiment must be a non-empty string, got "
                              f"{experiment!r}")
        if run_name is not None and not isinstance(run_name, str):
            raise ConfigError(f"MLflowLogger: run_name must be a string, got {run_name!r}")
        try:
            check_int("batch_every", batch_every, minimum=0)
        except ConfigError as exc:
            raise ConfigError(f"MLflowLogger: {exc}") from None
        self.tracking_uri = None if tracking_uri is None else os.fspath(tracking_uri)
        self.experiment = experiment
        self.run_name = run_name
        self.log_model = bool(log_model)
        self.batch_every = batch_every
        self.run_id: str | None = None
        self._client: Any = None
        self._pending: list[Any] = []

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        from nnframe.extras import require

        tracking = require("mlflow.tracking", "mlflow", "logging to MLflow",
                           package="mlflow")
        folder = self._folder()
        if folder is not None:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ModelFileError(f"MLflowLogger cannot create the folder {folder}: "
                                     f"{exc.strerror or exc}") from None
        self._client = client = tracking.MlflowClient(tracking_uri=store_uri(self.tracking_uri))
        self._batches = logs["batches"]
        self._epochs = logs["epochs"]
        network = self.network
        resumed = logs.get("initial_epoch", 0) > 0 or network.train_state.inside_epoch
        saved = network.train_state.notes.get(STATE_KEY) if resumed else None
        self.run_id = self._saved_run(saved.get("run_id") if isinstance(saved, dict) else None)
        if self.run_id is not None:
            client.update_run(self.run_id, status="RUNNING")
        else:
            run = client.create_run(self._experiment_id(), run_name=self.run_name,
                                    tags=run_tags(network))
            self.run_id = run.info.run_id
            self._log_params(run_params(network, {"epochs": logs["epochs"],
                                                  "batch_size": logs.get("batch_size")}))
        network.train_state = network.train_state.note(STATE_KEY, {"run_id": self.run_id})

    def _folder(self) -> Path | None:
        """The folder ``tracking_uri`` names, or None when it is a URI (or not given)."""
        if self.tracking_uri is None or store_uri(self.tracking_uri) == self.tracking_uri:
            return None
        return Path(self.tracking_uri)

    def _saved_run(self, run_id: Any) -> str | None:
        """The saved run's id when this tracking store has it, else None (a new run)."""
        if not isinstance(run_id, str):
            return None
        try:
            self._client.get_run(run_id)
        except Exception:  # MlflowException: not in this store
            return None
        return run_id

    def _experiment_id(self) -> str:
        client = self._client
        found = client.get_experiment_by_name(self.experiment)
        if found is not None:
            return found.experiment_id
        folder = self._folder()
        location = None if folder is None else (folder.resolve() / "artifacts").as_uri()
        try:
            return client.create_experiment(self.experiment, artifact_location=location)
        except Exception:  # another process created it first
            found = client.get_experiment_by_name(self.experiment)
            if found is None:
                raise
            return found.experiment_id

    def _log_params(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(mlflow_key(key), str(value)) for key, value in params.items()]
        for start in range(0, len(items), BATCH_LIMIT):
            self._client.log_batch(self.run_id, params=items[start:start + BATCH_LIMIT])

    def _log_metrics(self, values: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(key, float(value), now, step) for key, value in values.items()]
        for start in range(0, len(items), BATCH_LIMIT):
            # written by MLflow's logging thread, so training does not wait for the store
            self._pending.append(self._client.log_batch(
                self.run_id, metrics=items[start:start + BATCH_LIMIT], synchronous=False))

    def _wait(self) -> None:
        """Wait until every metric logged so far is in the store."""
        pending, self._pending = self._pending, []
        for operation in pending:
            operation.wait()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None:
        self._epoch = epoch

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        if self.batch_every and (batch + 1) % self.batch_every == 0:
            step = batch_step(self._epoch, batch, self._batches)
            self._log_metrics({"batch/loss": logs["loss"]}, step)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        values = dict(logs)
        optimizer = self.network.optimizer
        if optimizer is not None and hasattr(optimizer, "learning_rate"):
            values["learning_rate"] = float(optimizer.learning_rate)
        self._log_metrics(values, epoch_step(epoch))

    def on_train_end(self, logs: dict[str, Any]) -> None:
        if self._client is None or self.run_id is None:
            return
        self._wait()
        network = self.network
        finished = network.epoch >= self._epochs or network.stop_training
        if finished and self.log_model:
            with tempfile.TemporaryDirectory(prefix="nnframe-mlflow-") as folder:
                path = network.save(Path(folder) / "model.npz")
                self._client.log_artifact(self.run_id, str(path), artifact_path="model")
        if network.train_state.inside_epoch:
            status = "KILLED"  # stopped inside an epoch, to be resumed
        else:
            status = "FINISHED" if finished else "FAILED"
        self._client.set_terminated(self.run_id, status=status)
        self._client = None
