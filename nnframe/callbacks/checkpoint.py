"""`ModelCheckpoint`: save the network during training, to resume it later."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from nnframe.core.contracts import Callback
from nnframe.errors import ConfigError, ModelFileError
from nnframe.modelfile.save import Verified, save_network


class ModelCheckpoint(Callback):
    """Save the network every ``every`` epochs, atomically, to resume training later.

    ``path`` may contain ``{epoch}`` (or a format such as ``{epoch:03d}``): the number of
    epochs trained when the file was written; without it each checkpoint replaces the last.
    Missing directories are created. Checkpoints include the optimizer state and training
    position unless ``include_optimizer=False``. ``saved`` lists the files written, in order.
    """

    #: `nnframe check` builds it with a file name (nothing is written).
    check_hints: ClassVar[dict] = {"config": {"path": "ckpt-{epoch}.npz"}}
    root_only = True  # one process writes the file
    saves_network = True  # so fit checks, before training, that the network can be saved

    def __init__(self, path: str | os.PathLike[str], every: int = 1, *,
                 include_optimizer: bool = True) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ConfigError(f"ModelCheckpoint: every must be an integer >= 1, got {every!r}")
        self.path = os.fspath(path)
        try:
            self.path.format(epoch=0)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                f"ModelCheckpoint: path {self.path!r} is not a valid template ({exc}); the "
                "only field is {epoch}, and literal braces are written {{ and }}"
            ) from None
        self.every = every
        self.include_optimizer = include_optimizer
        self.saved: list[Path] = []
        self._verified: Verified = {}  # layers that passed the rebuild check this run

    def path_for(self, epochs_done: int) -> Path:
        """The file for the checkpoint taken after ``epochs_done`` epochs."""
        return Path(self.path.format(epoch=epochs_done))

    def output_paths(self) -> list[str]:
        """The first checkpoint's file (checked before training)."""
        return [str(self.path_for(self.every))]

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        done = epoch + 1
        if done % self.every:
            return
        target = self.path_for(done)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelFileError(f"ModelCheckpoint cannot create the directory "
                                 f"{target.parent}: {exc.strerror or exc}") from None
        self.saved.append(save_network(self.network, target,
                                       include_optimizer=self.include_optimizer,
                                       verified=self._verified))
