"""The trackers beyond one plain process: under ``mpiexec -n 2`` only rank 0 writes (one
event file, one MLflow run), and neither ``import nnframe`` nor ``nnframe list`` imports
TensorBoard, MLflow or Optuna."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.test_mpi import environment, mpiexec, needs_mpi, nnframe_cli, succeeded

CONFIG = """
[model]
layers = [{ type = "dense", output_size = 16 }, { type = "tanh" },
          { type = "dense", output_size = 10 }]
[loss]
type = "cross_entropy"
[optimizer]
type = "sgd"
learning_rate = 0.1
[data]
dataset = "mnist_sample"
subset = 400
test_subset = 100
validation_split = 0.25
flatten = true
[train]
epochs = 3
batch_size = 20
seed = 0
callbacks = [{ type = "tensorboard", log_dir = "runs/mpi" },
             { type = "mlflow", tracking_uri = "mlruns", experiment = "mpi", log_model = false }]
"""


@needs_mpi
def test_under_mpi_rank_0_alone_tracks_the_run(tmp_path):
    pytest.importorskip("tensorboardX")
    event_accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator")
    tracking = pytest.importorskip("mlflow.tracking")
    (tmp_path / "cfg.toml").write_text(textwrap.dedent(CONFIG))
    succeeded(mpiexec(*nnframe_cli("train", "cfg.toml", "-q"), cwd=tmp_path))
    assert len(list((tmp_path / "runs" / "mpi").glob("events.out.tfevents.*"))) == 1
    run = event_accumulator.EventAccumulator(str(tmp_path / "runs" / "mpi"))
    run.Reload()
    assert [event.step for event in run.Scalars("val_loss")] == [1, 2, 3]
    from nnframe.callbacks.mlflow_logger import store_uri

    client = tracking.MlflowClient(tracking_uri=store_uri(str(tmp_path / "mlruns")))
    [found] = client.search_runs([client.get_experiment_by_name("mpi").experiment_id])
    assert [m.step for m in client.get_metric_history(found.info.run_id, "loss")] == [1, 2, 3]
    # the same values as TensorBoard's (which stores 32-bit floats)
    tensorboard_values = [event.value for event in run.Scalars("val_loss")]
    mlflow_values = [m.value for m in sorted(
        client.get_metric_history(found.info.run_id, "val_loss"), key=lambda m: m.step)]
    assert tensorboard_values == pytest.approx(mlflow_values, rel=1e-6)


def test_import_and_list_never_import_the_tracking_libraries():
    code = textwrap.dedent("""
        import sys
        import nnframe
        from nnframe.cli import main
        nnframe.callback("tensorboard", log_dir="runs")
        nnframe.callback("mlflow")
        try:
            main(["list"])
        except SystemExit:
            pass
        print(sorted(m for m in ("tensorboardX", "tensorboard", "mlflow", "optuna")
                     if m in sys.modules))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, env=environment())
    assert result.returncode == 0, result.stderr
    assert "tensorboard " in result.stdout and "mlflow " in result.stdout  # both listed
    assert result.stdout.strip().splitlines()[-1] == "[]"
