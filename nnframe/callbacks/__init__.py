"""Training callbacks: `History` (always), `EarlyStopping`, `ModelCheckpoint`, `CSVLogger`,
the `ProgressDisplay`, and the trackers `TensorBoard` and `MLflowLogger`. They are
registered as the callbacks ``early_stopping``, ``model_checkpoint``, ``csv_logger``,
``tensorboard`` and ``mlflow``; the base class is `nnframe.Callback`. The trackers import
their libraries (the ``tensorboard`` and ``mlflow`` extras) only when training starts.
"""

from nnframe.callbacks.checkpoint import ModelCheckpoint
from nnframe.callbacks.csv_logger import CSVLogger
from nnframe.callbacks.early_stopping import EarlyStopping
from nnframe.callbacks.mlflow_logger import MLflowLogger
from nnframe.callbacks.progress import ProgressDisplay, format_logs
from nnframe.callbacks.tensorboard import TensorBoard
from nnframe.core.contracts import Callback
from nnframe.core.training import History

__all__ = [
    "CSVLogger",
    "Callback",
    "EarlyStopping",
    "History",
    "MLflowLogger",
    "ModelCheckpoint",
    "ProgressDisplay",
    "TensorBoard",
    "format_logs",
]
