"""Training callbacks: `History` (always), `EarlyStopping`, `ModelCheckpoint`, `CSVLogger`
and the `ProgressDisplay`. `EarlyStopping`, `ModelCheckpoint` and `CSVLogger` are
registered as the callbacks ``early_stopping``, ``model_checkpoint`` and ``csv_logger``;
the base class is `nnframe.Callback`.
"""

from nnframe.callbacks.checkpoint import ModelCheckpoint
from nnframe.callbacks.csv_logger import CSVLogger
from nnframe.callbacks.early_stopping import EarlyStopping
from nnframe.callbacks.history import History
from nnframe.callbacks.progress import ProgressDisplay, format_logs
from nnframe.contracts import Callback

__all__ = [
    "CSVLogger",
    "Callback",
    "EarlyStopping",
    "History",
    "ModelCheckpoint",
    "ProgressDisplay",
    "format_logs",
]
