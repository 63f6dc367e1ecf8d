"""The reference `mlp` workload: 784-256-relu-128-relu-10, softmax cross-entropy from logits,
Adam at 1e-3, batch 128, 5 epochs from seed 0, on the 60,000 MNIST training images; then the
accuracy on the 10,000 test images.

Run: NNFRAME_DATA_DIR=~/data python examples/mnist_mlp.py
"""

import time

import nnframe
from nnframe.datasets import mnist

x_train, y_train = mnist("train")
x_test, y_test = mnist("test")

net = nnframe.Network([
    nnframe.layer("flatten"),
    nnframe.layer("dense", output_size=256),
    nnframe.layer("relu"),
    nnframe.layer("dense", output_size=128),
    nnframe.layer("relu"),
    nnframe.layer("dense", output_size=10),
])
net.use("cross_entropy", nnframe.optimizer("adam", learning_rate=1e-3))
start = time.perf_counter()
net.fit(x_train, y_train, epochs=5, batch_size=128, seed=0)
seconds = time.perf_counter() - start

scores = net.evaluate(x_test, y_test)
print(f"trained 5 epochs in {seconds:.1f}s ({seconds / 5:.2f}s per epoch); "
      f"test accuracy {scores['accuracy']:.2%}, test loss {scores['loss']:.4f}")
