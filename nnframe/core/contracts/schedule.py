"""The learning-rate schedule contract: the rate for every training step."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol, runtime_checkable

import attrs

from nnframe.core.contracts.config import config_of


@runtime_checkable
class ScheduleProtocol(Protocol):
    """What training needs from a learning-rate schedule. Any object with these members is one.

    Training calls `start` once, then sets the optimizer's ``learning_rate`` to
    ``rate(step)`` before every batch, where ``step`` counts batches from the start of
    the run (a resumed run continues the count). Members a
    schedule may have besides these are declared by `ScheduleOptions`.
    """

    def start(self, base_learning_rate: float, steps_per_epoch: int, epochs: int) -> None:
        """Learn the optimizer's configured rate and the run's length, before step 0."""

    def rate(self, step: int) -> float:
        """The learning rate for training step ``step`` (0 is the run's first batch)."""

    def get_config(self) -> dict[str, Any]:
        """JSON-safe constructor arguments."""


class ScheduleOptions(Protocol):
    """Members a schedule may have; training uses each one a schedule has."""

    def end_epoch(self, epoch: int, logs: dict[str, float]) -> None:
        """See each epoch's logs (a schedule that reacts to the validation loss)."""

    def check_logs(self, names: Collection[str]) -> None:
        """Before training, with the names every epoch's logs will hold: raise
        `~nnframe.errors.ConfigError` if one it needs is missing."""

    def state_dict(self) -> dict[str, Any]:
        """JSON-safe state kept in model files, so a resumed run continues exactly."""

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take back what `state_dict` gave."""


@attrs.define(eq=False)
class Schedule:
    """Optional base class: remembers the base rate and the run's length, no state."""

    base_learning_rate: float = attrs.field(init=False, default=0.0, repr=False)
    """The optimizer's configured rate, set by `start` (kept across a resume)."""
    steps_per_epoch: int = attrs.field(init=False, default=1, repr=False)
    """Batches per epoch, set by `start`."""
    epochs: int = attrs.field(init=False, default=1, repr=False)
    """Epochs of the whole run, set by `start`."""

    def start(self, base_learning_rate: float, steps_per_epoch: int, epochs: int) -> None:
        """Record the base rate, batches per epoch and epochs of the run."""
        self.base_learning_rate = float(base_learning_rate)
        self.steps_per_epoch = max(1, int(steps_per_epoch))
        self.epochs = max(1, int(epochs))

    @property
    def total_steps(self) -> int:
        """Batches in the whole run."""
        return self.steps_per_epoch * self.epochs

    def epoch_of(self, step: int) -> int:
        """The epoch (from 0) that training step ``step`` belongs to."""
        return step // self.steps_per_epoch

    def rate(self, step: int) -> float:
        """The learning rate for ``step`` (subclasses implement it)."""
        raise NotImplementedError(f"{type(self).__name__} must implement rate()")

    def end_epoch(self, epoch: int, logs: dict[str, float]) -> None:
        """Nothing to learn from an epoch's logs."""

    def check_logs(self, names: Collection[str]) -> None:
        """Needs no logged value."""

    def state_dict(self) -> dict[str, Any]:
        """No state: the rate depends on the step alone."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """No state to restore."""

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, read from the attrs fields."""
        return config_of(self)
