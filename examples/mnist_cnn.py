"""The reference `cnn` workload: conv 3x3 1->8, relu, maxpool 2, conv 3x3 8->16, relu,
maxpool 2, flatten, dense 400->10, softmax cross-entropy from logits, Adam at 1e-3, batch 64,
3 epochs from seed 0, on the 60,000 MNIST training images; then the accuracy on the 10,000
test images. The convolution and pooling layers come from the plugin distribution
nnframe-conv.

Run: pip install ./plugins/nnframe-conv
     NNFRAME_DATA_DIR=~/data python examples/mnist_cnn.py [--epochs 3]
"""

from __future__ import annotations

import argparse
import sys
import time

import nnframe
from nnframe.datasets import mnist


def build_network() -> nnframe.Network:
    """The cnn workload's network, with its loss and optimizer; images are (28, 28, 1)."""
    layer = nnframe.layer
    net = nnframe.Network([
        layer("conv2d", 8, 3), layer("relu"), layer("maxpool2d", 2),    # (13, 13, 8)
        layer("conv2d", 16, 3), layer("relu"), layer("maxpool2d", 2),   # (5, 5, 16)
        layer("flatten"),
        layer("dense", 400, 10),
    ])
    return net.use("cross_entropy", nnframe.optimizer("adam", learning_rate=1e-3))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-samples", type=int, default=None,
                        help="train on the first N images only (default: all 60,000)")
    args = parser.parse_args(argv)

    try:
        net = build_network()
    except nnframe.UnknownComponentError as exc:
        print(f"{exc}\nInstall the convolution plugin first: pip install ./plugins/nnframe-conv",
              file=sys.stderr)
        return 2
    x_train, y_train = mnist("train")
    x_test, y_test = mnist("test")
    if args.train_samples:
        x_train, y_train = x_train[:args.train_samples], y_train[:args.train_samples]

    start = time.perf_counter()
    net.fit(x_train, y_train, epochs=args.epochs, batch_size=64, seed=0, verbose=2)
    seconds = time.perf_counter() - start

    scores = net.evaluate(x_test, y_test)
    print(f"trained {args.epochs} epochs on {len(x_train):,} images in {seconds:.1f}s "
          f"({seconds / max(args.epochs, 1):.2f}s per epoch); test accuracy "
          f"{scores['accuracy']:.2%}, test loss {scores['loss']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
