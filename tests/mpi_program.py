"""A training script for tests/test_mpi.py, run as ``mpiexec -n 2 python mpi_program.py ...``
(or alone, as the one-process reference).

It trains a small tanh network on the MNIST sample and writes each process's final
weights to ``<out>.<rank>.npy``, its layer state to ``<out>.state.<rank>.npz``, its
optimizer state to ``<out>.optimizer.<rank>.npz`` and rank 0's history to
``<out>.json`` (with whether the optimizer step was sharded). Options make one
process misbehave (raise, hold bad data, kill or stop itself, ask to stop, give a NaN
gradient) so that the
tests can watch what the others do.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

import attrs
import numpy as np

import nnframe
from nnframe.datasets import mnist_sample
from nnframe.datasets.streaming import FileRows, MappedRows, npy_rows
from nnframe.distributed import MPIStrategy, launch
from nnframe.errors import TrainingDivergedError

#: each optimizer's settings: options that give it state beyond the plainest rule
SETTINGS = {"sgd": {"momentum": 0.9, "learning_rate": 0.05},
            "sgd-nesterov": {"momentum": 0.9, "nesterov": True, "learning_rate": 0.05},
            "adam": {"learning_rate": 0.002},
            "adamw": {"learning_rate": 0.002, "weight_decay": 0.05},
            "rmsprop": {"learning_rate": 0.002, "momentum": 0.5},
            "rmsprop-centered": {"learning_rate": 0.002, "centered": True}}


@attrs.define(eq=False)
class NormalizedSGD(nnframe.Optimizer):
    """Each parameter steps along its gradient divided by that gradient's norm: not
    element-wise (a piece of a parameter has another norm), and it does not say it is."""

    learning_rate: float = 0.05

    def step(self, parameters: nnframe.ParameterGroup) -> None:
        for parameter in parameters:
            norm = float(np.linalg.norm(parameter.grad))
            parameter.value -= self.learning_rate / (norm + 1e-3) * parameter.grad
        self.iterations += 1




@attrs.define(eq=False)
class PoisonedShift(nnframe.Layer):
    """y = x + shift. Its backward gives a NaN gradient for one number of its shift on
    the training batch ``poison_at`` (counted from 1; set on one process only, so that
    every process's config stays the same): the last numbers of the parameter buffer,
    which fall in the last process's slice of a sharded step."""

    poison_at: int = attrs.field(init=False, default=0)
    _batches: int = attrs.field(init=False, default=0)

    def build(self, input_shape, rng, dtype):
        self.params = {"shift": np.zeros(input_shape[-1], dtype)}
        self.grads = {"shift": np.zeros(input_shape[-1], dtype)}

    def forward(self, x, training=False):
        self._batches += bool(training)
        return x + self.params["shift"]

    def backward(self, grad_output):
        self.grads["shift"][...] = grad_output.sum(axis=0)
        if self._batches == self.poison_at:
            self.grads["shift"][0] = np.nan
        return grad_output


def network(optimizer: str, dropout: bool, state: bool,
            poisoned: bool = False) -> nnframe.Network:
    layers = [nnframe.layer("flatten")]
    if state:  # running statistics of the inputs themselves (tests/plugin_dist)
        layers.append(nnframe.layer("running_center"))
    layers += [nnframe.layer("dense", output_size=32), nnframe.layer("tanh")]
    if dropout:
        layers.append(nnframe.layer("dropout", rate=0.3))
    layers.append(nnframe.layer("dense", output_size=10))
    if poisoned:
        layers.append(PoisonedShift())
    chosen = (NormalizedSGD() if optimizer == "normalized" else
              nnframe.optimizer(optimizer.split("-")[0], **SETTINGS[optimizer]))
    return nnframe.Network(layers).use("cross_entropy", chosen)


class Misbehave(nnframe.Callback):
    """On one rank, at one batch of the first epoch trained: raise, kill or stop this
    process, or ask training to stop."""

    def __init__(self, how: str, batch: int) -> None:
        self.how, self.batch, self.done = how, batch, False

    def on_batch_end(self, batch: int, logs: dict) -> None:
        if self.done or batch != self.batch:
            return
        self.done = True
        if self.how == "raise":
            raise RuntimeError("a callback failed on purpose")
        if self.how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if self.how == "sigstop":
            os.kill(os.getpid(), signal.SIGSTOP)
        if self.how == "stop":
            self.network.stop_training = True


def count_rows_read(rows: FileRows, out: Path) -> FileRows:
    """``rows``, counting in ``<out>.read.<rank>.json`` how many rows this process reads,
    row by row or from a memory map (in ``"mapped"``)."""
    counted = {"rows": 0, "mapped": 0}

    def counter(kind: type, key: str) -> object:
        read = kind.read

        def counting(self: object, index: object, dtype: object = np.float32) -> np.ndarray:
            batch = read(self, index, dtype)
            counted[key] += len(batch)
            Path(f"{out}.read.{rank()}.json").write_text(json.dumps(counted))
            return batch

        return counting

    FileRows.read = counter(FileRows, "rows")  # type: ignore[method-assign]
    MappedRows.read = counter(MappedRows, "mapped")  # type: ignore[method-assign]
    return rows


def rank() -> int:
    if "mpi4py.MPI" not in sys.modules:
        return 0
    from mpi4py import MPI

    return MPI.COMM_WORLD.Get_rank()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--optimizer", default="sgd")
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--strategy", default="mpi")
    parser.add_argument("--whole-step", action="store_true",
                        help="every process takes the whole optimizer step")
    parser.add_argument("--clip-norm", type=float)
    parser.add_argument("--dropout", action="store_true")
    parser.add_argument("--state", action="store_true", help="a layer with running statistics")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--resume", type=Path, help="continue from this model file")
    parser.add_argument("--misbehave",
                        help="raise, kill, sigstop, stop, bad-data or nan-gradient")
    parser.add_argument("--stream-from", type=Path,
                        help="read the inputs batch by batch from this .npy file")
    parser.add_argument("--on-rank", type=int, default=1)
    parser.add_argument("--at-batch", type=int, default=3)
    args = parser.parse_args()

    x, y = mnist_sample("train")
    x, y = x[:args.rows], y[:args.rows]
    if args.stream_from is not None:
        x = count_rows_read(npy_rows(args.stream_from)[:args.rows], args.out)
    x_val, y_val = mnist_sample("test")
    strategy = {"none": None, "mpi": "mpi"}.get(args.strategy, args.strategy)
    if strategy == "mpi":
        strategy = MPIStrategy(shard_step=not args.whole_step)
    if args.resume is not None:
        net = nnframe.load(args.resume)
        seed = None
    else:
        net, seed = network(args.optimizer, args.dropout, args.state,
                            poisoned=args.misbehave == "nan-gradient"), 0
    callbacks = []
    if args.misbehave and args.on_rank == launch().rank:
        if args.misbehave == "bad-data":
            y = y.copy()
            y[5] = 10  # not one of the 10 classes: the loss refuses it
        elif args.misbehave == "nan-gradient":
            net.layers[-1].poison_at = args.at_batch
        else:
            callbacks.append(Misbehave(args.misbehave, args.at_batch))
    me = rank()
    try:
        history = net.fit(x, y, epochs=args.epochs, batch_size=args.batch, seed=seed,
                          validation_data=(x_val[:300], y_val[:300]), callbacks=callbacks,
                          verbose=0, initial_epoch=net.epoch, strategy=strategy,
                          clip_norm=args.clip_norm)
    except TrainingDivergedError as error:
        Path(f"{args.out}.diverged.{me}.txt").write_text(str(error))
        history = nnframe.History()
    np.save(f"{args.out}.{me}.npy", net.parameters().values)
    np.savez(f"{args.out}.state.{me}.npz", **net.state())
    np.savez(f"{args.out}.optimizer.{me}.npz", **net.optimizer.state_dict())
    if me == 0:
        if net.resume_point is not None or net.stop_training:
            net.save(f"{args.out}.npz")
        Path(f"{args.out}.json").write_text(json.dumps(
            {"history": history.history, "mpi4py_imported": "mpi4py" in sys.modules,
             "sharded": getattr(strategy, "sharded", False)}))


if __name__ == "__main__":
    main()
