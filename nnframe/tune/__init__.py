"""``nnframe tune``: hyperparameter search over a training config on Optuna (the ``tune``
extra). `parse_tune` reads the ``[tune]`` table (no Optuna needed); `tune` runs the
trials. Optuna is imported only by `tune`, when a search starts.
"""

from nnframe.tune.space import Pruner, Range, TuneSpec, parse_tune, with_values
from nnframe.tune.study import Report, TuneOptions, trial_table, tune

__all__ = ["Pruner", "Range", "Report", "TuneOptions", "TuneSpec", "parse_tune", "trial_table",
           "tune", "with_values"]
