"""`TrainState`: where training got to, which is what a checkpoint saves to resume exactly.

The trainer replaces a network's `TrainState` (it is frozen) after every batch and epoch;
`Network.save` writes it and `nnframe.load` reads it back, so that ``fit(...,
initial_epoch=net.epoch)`` on a loaded network continues with the very next batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs


@attrs.frozen
class TrainState:
    """The position of a run and what it has summed so far (all JSON-safe).

    ``epoch`` epochs are complete. ``batch`` > 0 means training stopped inside epoch
    ``epoch`` after that many batches: ``epoch_rng`` (the generator's state when that epoch
    began) replays its shuffle, and ``loss_sum`` and ``seen`` (the loss summed over its
    rows, and how many) finish its mean loss. ``schedule`` and ``base_learning_rate`` are
    the learning-rate schedule's state; ``notes`` what callbacks and the command line keep
    with the run (the data seed, a tracking run's id).
    """

    epoch: int = 0
    batch: int = 0
    epoch_rng: Mapping[str, Any] | None = None
    loss_sum: float = 0.0
    seen: int = 0
    schedule: Mapping[str, Any] | None = None
    base_learning_rate: float | None = None
    notes: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def inside_epoch(self) -> bool:
        """Whether training stopped before the end of epoch ``epoch``."""
        return self.batch > 0

    def at_epoch_start(self, epoch: int) -> TrainState:
        """This state at the start of ``epoch`` (``epoch`` epochs complete)."""
        return attrs.evolve(self, epoch=epoch, batch=0, epoch_rng=None, loss_sum=0.0, seen=0)

    def note(self, key: str, value: Any) -> TrainState:
        """This state with ``notes[key] = value`` (a JSON-safe value)."""
        return attrs.evolve(self, notes={**self.notes, key: value})

    def resume_point(self) -> dict[str, Any] | None:
        """The position inside an epoch as model files store it, or None at an epoch's start."""
        if not self.inside_epoch:
            return None
        return {"epoch": self.epoch, "batch": self.batch, "epoch_rng": self.epoch_rng,
                "loss_sum": self.loss_sum, "seen": self.seen}

    def file_state(self) -> dict[str, Any]:
        """The ``training.state`` object of a model file: the schedule's state and notes."""
        state = dict(self.notes)
        if self.schedule is not None:
            state["schedule"] = dict(self.schedule)
        if self.base_learning_rate is not None:
            state["base_learning_rate"] = self.base_learning_rate
        return state

    @classmethod
    def from_file(cls, epoch: int, point: Mapping[str, Any] | None,
                  state: Mapping[str, Any]) -> TrainState:
        """The state a model file's ``training`` entry describes (already validated)."""
        notes = {k: v for k, v in state.items() if k not in ("schedule", "base_learning_rate")}
        base = state.get("base_learning_rate")
        position = {} if point is None else {
            "batch": int(point["batch"]), "epoch_rng": point["epoch_rng"],
            "loss_sum": float(point.get("loss_sum", 0.0)), "seen": int(point.get("seen", 0))}
        return cls(epoch=int(epoch), schedule=state.get("schedule"),
                   base_learning_rate=None if base is None else float(base), notes=notes,
                   **position)
