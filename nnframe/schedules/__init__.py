"""Learning-rate schedules, registered as ``constant``, ``step``, ``exponential``,
``cosine`` (with warm-up) and ``reduce_on_plateau``; the base class is `nnframe.Schedule`."""

from nnframe.schedules.cosine import CosineDecay
from nnframe.schedules.fixed import Constant, ExponentialDecay, StepDecay
from nnframe.schedules.plateau import ReduceOnPlateau

__all__ = ["Constant", "CosineDecay", "ExponentialDecay", "ReduceOnPlateau", "StepDecay"]
