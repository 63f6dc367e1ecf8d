"""The character-level language model of examples/char_lm.toml trained in nnframe (from
that config, as ``nnframe train`` does) and the identical model in PyTorch (CPU), on the
same data with the same optimizer, batch and number of steps; then the validation loss
per character of each (the test split: the text after the training text).

Run: pip install ./plugins/nnframe-attention torch threadpoolctl
     python benchmarks/char_lm_vs_torch.py [--threads 1] [--seed 0]

PyTorch's model: nn.Embedding(128, 64), a learned (64, 64) position table drawn from
N(0, 0.02), two nn.TransformerEncoderLayer(64, 4, 256, dropout=0, activation="gelu",
norm_first=True, batch_first=True) called with the causal mask, nn.LayerNorm(64) and
nn.Linear(64, 128) with Glorot-uniform weights and a zero bias, as nnframe's dense.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "examples" / "char_lm.toml"


def train_nnframe(seed: int) -> tuple[float, float, float]:
    """(validation loss per character, wall seconds, CPU seconds) of ``nnframe train``."""
    import nnframe
    from nnframe.cli import main as cli
    from nnframe.datasets.catalog import dataset

    with tempfile.TemporaryDirectory() as folder:
        model = Path(folder) / "char_lm.npz"
        wall, cpu = time.perf_counter(), time.process_time()
        try:  # the command line's entry point always exits
            cli(["train", str(CONFIG), "--seed", str(seed), "-o", str(model), "-q"])
        except SystemExit as exit:
            code = exit.code
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if code:
            raise SystemExit(f"nnframe train failed with exit status {code}")
        network = nnframe.load(model)
    x, y = dataset("python_chars").load("test")
    return network.evaluate(x, y)["loss"], wall, cpu


def train_torch(seed: int, epochs: int = 2, batch: int = 32) -> tuple[float, float, float]:
    """The same for the identical PyTorch model."""
    import torch
    from torch import nn

    from nnframe.datasets.catalog import dataset

    torch.manual_seed(seed)
    context, features, vocabulary = 64, 64, 128

    class CharLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(vocabulary, features)
            self.positions = nn.Parameter(0.02 * torch.randn(context, features))
            self.blocks = nn.ModuleList(
                nn.TransformerEncoderLayer(features, 4, 256, dropout=0.0, activation="gelu",
                                           norm_first=True, batch_first=True)
                for _ in range(2))
            self.norm = nn.LayerNorm(features)
            self.head = nn.Linear(features, vocabulary)
            nn.init.xavier_uniform_(self.head.weight)
            nn.init.zeros_(self.head.bias)
            self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(
                context), persistent=False)

        def forward(self, codes: torch.Tensor) -> torch.Tensor:
            h = self.embedding(codes) + self.positions[: codes.shape[1]]
            for block in self.blocks:
                h = block(h, src_mask=self.mask[: codes.shape[1], : codes.shape[1]],
                          is_causal=True)
            return self.head(self.norm(h))

    x, y = (torch.from_numpy(a.astype(np.int64)) for a in dataset("python_chars").load("train"))
    x_test, y_test = (torch.from_numpy(a.astype(np.int64))
                      for a in dataset("python_chars").load("test"))
    model = CharLM()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    wall, cpu = time.perf_counter(), time.process_time()
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for begin in range(0, len(x), batch):
            index = order[begin:begin + batch]
            optimizer.zero_grad()
            logits = model(x[index])
            nn.functional.cross_entropy(logits.reshape(-1, vocabulary),
                                        y[index].reshape(-1)).backward()
            optimizer.step()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    model.eval()
    with torch.no_grad():
        logits = model(x_test)
        loss = nn.functional.cross_entropy(logits.reshape(-1, vocabulary), y_test.reshape(-1))
    return float(loss), wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import os

    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    os.environ["NNFRAME_NUM_THREADS"] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    results = {"nnframe": train_nnframe(args.seed), "torch": train_torch(args.seed)}
    for name, (loss, wall, cpu) in results.items():
        print(f"{name:8s} validation loss {loss:.4f} nats/char ({loss / math.log(2):.3f} "
              f"bits/char), 512 steps in {wall:.1f} s wall, {cpu:.1f} s CPU")
    ratio = results["nnframe"][0] / results["torch"][0]
    print(f"nnframe / torch validation loss: {ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
