"""`History`: every epoch's logs, returned by `Network.fit`."""

from __future__ import annotations

from nnframe.core.contracts import Callback


class History(Callback):
    """Records the logs of every epoch: ``history["loss"][i]`` is epoch ``epoch[i]``'s."""

    def __init__(self) -> None:
        self.epoch: list[int] = []
        self.history: dict[str, list[float]] = {}

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, metrics={list(self.history)})"
