"""Is a bracket sequence balanced? An embedding, an LSTM and a dense layer learn to tell.

The script makes its own data: sequences of ``(`` and ``)`` of one length, half of them
balanced, the other half made from balanced ones by swapping two different brackets (so
every sequence has as many ``(`` as ``)``, and only the order says which is which). Tokens
are integers (0 for ``(``, 1 for ``)``); ``embedding`` turns each into a vector, ``lstm``
reads the sequence, ``dense`` gives two logits. Needs the nnframe-recurrent plugin.

    python examples/brackets.py            # about a minute on a laptop core
    python examples/brackets.py --quick    # a smaller run, for the tests
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import nnframe

OPEN, CLOSE = 0, 1


def balanced(length: int, rng: np.random.Generator) -> np.ndarray:
    """A random balanced sequence: open while allowed, close when depth allows, at random."""
    tokens, depth, opened = [], 0, 0
    for position in range(length):
        remaining = length - position
        must_close = depth == remaining
        can_open = opened < length // 2
        if not must_close and can_open and (depth == 0 or rng.random() < 0.5):
            tokens.append(OPEN)
            depth, opened = depth + 1, opened + 1
        else:
            tokens.append(CLOSE)
            depth -= 1
    return np.array(tokens)


def is_balanced(tokens: np.ndarray) -> bool:
    depth = np.cumsum(np.where(tokens == OPEN, 1, -1))
    return bool(depth.min() >= 0 and depth[-1] == 0)


def unbalanced(length: int, rng: np.random.Generator) -> np.ndarray:
    """A balanced sequence with two different brackets swapped until it is unbalanced."""
    tokens = balanced(length, rng)
    while is_balanced(tokens):
        i, j = rng.choice(length, 2, replace=False)
        tokens[i], tokens[j] = tokens[j], tokens[i]
    return tokens


def data(samples: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``samples`` sequences (half balanced) as integer tokens, and labels (1: balanced)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, samples)
    tokens = np.stack([balanced(length, rng) if label else unbalanced(length, rng)
                       for label in labels])
    return tokens.astype(np.float32), labels


def network() -> nnframe.Network:
    return nnframe.Network([
        nnframe.layer("embedding", input_dim=2, output_dim=8),  # (N, T) -> (N, T, 8)
        nnframe.layer("lstm", units=32),                         # -> (N, 32)
        nnframe.layer("dense", output_size=2),                   # two logits
    ]).use("cross_entropy", nnframe.optimizer("adam", learning_rate=0.01))


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    args = parser.parse_args(argv)
    length = 16
    train_size, epochs = (2_000, 12) if args.quick else (8_000, 15)
    x_train, y_train = data(train_size, length, seed=0)
    x_test, y_test = data(1_000, length, seed=1)
    net = network()
    start = time.perf_counter()
    net.fit(x_train, y_train, epochs=epochs, batch_size=64, seed=0, verbose=2,
            schedule="cosine")
    seconds = time.perf_counter() - start
    accuracy = net.evaluate(x_test, y_test)["accuracy"]
    print(f"test accuracy {accuracy:.2%} on {len(x_test):,} new sequences of length "
          f"{length} ({seconds:.1f}s of training)")
    return accuracy


if __name__ == "__main__":
    main()
