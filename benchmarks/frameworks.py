"""How each framework trains one epoch and predicts, written as its users would write it.

Each runner gets the training images float32 in [0, 1], shaped as the workload reads them
(``Workload.input_shape``: (N, 28, 28, 1) images, or (N, 28, 28) sequences), and integer
labels, builds its network from `benchmarks.workloads`, and converts the data before the
clock starts (views where the framework allows: torch.from_numpy, reshape).

Frameworks: ``nnframe``; ``nnframe-threads``, the same with ``strategy="threads"`` (each
batch split over the threads, run only at 2 threads and more); ``torch``, PyTorch at its
best CPU setting (fused optimizers); ``torch-default``, PyTorch with ``torch.optim``'s
defaults (on a CPU, a Python loop over the parameters); ``sklearn``, scikit-learn's
MLPClassifier.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from benchmarks.workloads import CLASSES, Workload, build_nnframe, build_sklearn, build_torch


def one_hot(labels: np.ndarray) -> np.ndarray:
    out = np.zeros((len(labels), CLASSES), dtype=np.float32)
    out[np.arange(len(labels)), labels] = 1.0
    return out


class NNFrameRunner:
    """``Network.fit(x, y, epochs=1, batch_size=...)`` on the images as they are."""

    name = "nnframe"

    def __init__(self, workload: Workload, seed: int, x: np.ndarray, y: np.ndarray) -> None:
        self.workload = workload
        self.net = build_nnframe(workload, seed, x.shape[1:])
        self.x = x
        self.y = one_hot(y) if workload.one_hot_targets else y

    strategy: str | None = None

    def train_epoch(self) -> None:
        self.net.fit(self.x, self.y, epochs=1, batch_size=self.workload.batch_size, verbose=0,
                     strategy=self.strategy)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.net.predict(x)

    def predict_one(self, sample: np.ndarray) -> np.ndarray:
        """One sample, (1, *shape), as a user serving requests would call it."""
        return self.net.predict(sample)

    def count_parameters(self) -> int:
        return self.net.count_params()


class NNFrameThreadsRunner(NNFrameRunner):
    """``Network.fit(..., strategy="threads")``: each batch split over the threads."""

    name = "nnframe-threads"
    strategy = "threads"


def _nchw(x: np.ndarray) -> np.ndarray:
    """Channels-last images as PyTorch's NCHW: a view for one channel, else a copy; other
    samples (sequences (N, time, features), vectors) as they are."""
    if x.ndim != 4:
        return x
    if x.shape[-1] == 1:
        return x.reshape(len(x), 1, *x.shape[1:3])
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


class TorchRunner:
    """The usual PyTorch loop: randperm, index the batch, zero_grad, backward, step; with
    fused optimizers, PyTorch's best setting on a CPU."""

    name = "torch"
    setting = "fused"

    def __init__(self, workload: Workload, seed: int, x: np.ndarray, y: np.ndarray) -> None:
        import torch

        self.torch = torch
        self.workload = workload
        self.model, self.optimizer, self.loss = build_torch(workload, seed, x.shape[1:],
                                                            self.setting)
        self.x = torch.from_numpy(_nchw(x))
        self.y = torch.from_numpy(one_hot(y) if workload.one_hot_targets else y)
        self.generator = torch.Generator().manual_seed(seed)

    def train_epoch(self) -> None:
        torch, model, optimizer, loss = self.torch, self.model, self.optimizer, self.loss
        batch = self.workload.batch_size
        model.train()
        order = torch.randperm(len(self.x), generator=self.generator)
        for begin in range(0, len(self.x), batch):
            index = order[begin:begin + batch]
            optimizer.zero_grad()
            loss(model(self.x[index]), self.y[index]).backward()
            optimizer.step()

    def predict(self, x: np.ndarray) -> np.ndarray:
        self.model.eval()
        with self.torch.inference_mode():
            return self.model(self.torch.from_numpy(_nchw(x))).numpy()

    def predict_one(self, sample: np.ndarray) -> np.ndarray:
        self.model.eval()
        with self.torch.inference_mode():
            return self.model(self.torch.from_numpy(_nchw(sample))).numpy()

    def count_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)


class TorchDefaultRunner(TorchRunner):
    """The same loop with torch.optim's default settings (a per-parameter loop on a CPU)."""

    name = "torch-default"
    setting = "default"


class SklearnRunner:
    """``MLPClassifier(max_iter=1).fit(X, y)``: exactly one epoch, on flattened images."""

    name = "sklearn"

    def __init__(self, workload: Workload, seed: int, x: np.ndarray, y: np.ndarray) -> None:
        self.model = build_sklearn(workload, seed)
        self.x = x.reshape(len(x), -1)
        self.y = y

    def train_epoch(self) -> None:
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():  # one epoch is "not converged", by design
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.fit(self.x, self.y)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(x.reshape(len(x), -1))

    def predict_one(self, sample: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(sample.reshape(1, -1))

    def count_parameters(self) -> int:
        return sum(w.size for w in self.model.coefs_) + sum(b.size for b in self.model.intercepts_)


RUNNERS: dict[str, Any] = {r.name: r for r in (NNFrameRunner, NNFrameThreadsRunner, TorchRunner,
                                                TorchDefaultRunner, SklearnRunner)}
FRAMEWORKS = tuple(RUNNERS)
