"""The callback contract: code that runs at points of training."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from nnframe.core.contracts.config import config_of

if TYPE_CHECKING:
    from nnframe.core.network import Network


@runtime_checkable
class CallbackProtocol(Protocol):
    """What training needs from a callback: `Callback` has every member, doing nothing.
    Members a callback may have besides these: ``root_only`` and ``saves_network``
    (class attributes), ``check_logs``, ``output_paths`` and ``get_config`` (see
    `Callback`)."""

    def set_network(self, network: Network) -> None: ...
    def on_train_begin(self, logs: dict[str, Any]) -> None: ...
    def on_train_end(self, logs: dict[str, Any]) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None: ...
    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None: ...


class Callback:
    """Base class of training callbacks: every hook does nothing.

    Override any of the ``on_*`` methods; ``self.network`` is the network being trained.
    Setting ``network.stop_training = True`` ends training after the current batch. The
    ``logs`` of an epoch hold its loss and metrics (``val_`` prefixed for validation data).
    """

    network: Network
    """The network being trained, set by `set_network` before training starts."""
    saves_network: ClassVar[bool] = False
    """True for a callback that saves the network (`ModelCheckpoint`): training then
    checks, before the first batch, that the network can be saved."""
    root_only: ClassVar[bool] = False
    """True for a callback that prints or writes files: when training on many processes
    (`nnframe.distributed`) it runs on rank 0 alone. Others run on every process and see
    the same logs there, so their decisions (stopping early) agree."""

    def set_network(self, network: Network) -> None:
        """Called before training starts, with the network to be trained."""
        self.network = network

    def check_logs(self, names: Collection[str]) -> None:
        """Called before training with the names every epoch's logs will hold; raise
        `~nnframe.errors.ConfigError` if one this callback needs is missing, so that a run
        fails at once instead of after its first epoch."""

    def output_paths(self) -> list[str]:
        """The files this callback will write (for a name template, the first one), so
        that a path no file can be written to fails before training, not after an epoch
        or a day of it. Default: none."""
        return []

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        """Training starts; ``logs`` has ``epochs``, ``batches`` (per epoch), ``samples``,
        ``batch_size`` and ``initial_epoch`` (the epoch it starts at: above 0 when resumed)."""

    def on_train_end(self, logs: dict[str, Any]) -> None:
        """Training ended (normally, stopped, or by an error)."""

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None:
        """Epoch ``epoch`` (counted from 0) starts."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Epoch ``epoch`` ended with these logs (loss, metrics, validation scores)."""

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        """A batch of the current epoch was trained; ``logs`` has its ``loss``."""

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, read back from attributes of the same names."""
        return config_of(self)
