"""The classic MNIST demo, written with nnframe: FC(784,100)-tanh-FC(100,50)-tanh-FC(50,10)-tanh,
MSE on one-hot labels, SGD at learning rate 0.1, the seed's U(-0.5, 0.5) initialisation,
trained on 1,000 training images for 35 epochs, then tested on the 10,000 test images.

Run: NNFRAME_DATA_DIR=~/data python examples/mnist_seed.py
"""

import time

import nnframe
from nnframe.datasets import mnist

x_train, y_train = mnist("train")
x_test, y_test = mnist("test")
x_train = x_train[:1000].reshape(1000, 784)
y_train = nnframe.one_hot(y_train[:1000], 10)
x_test = x_test.reshape(len(x_test), 784)

net = nnframe.Network([
    nnframe.layer("dense", 784, 100, init="seed_uniform"),
    nnframe.layer("tanh"),
    nnframe.layer("dense", 100, 50, init="seed_uniform"),
    nnframe.layer("tanh"),
    nnframe.layer("dense", 50, 10, init="seed_uniform"),
    nnframe.layer("tanh"),
])
net.use("mse")
start = time.perf_counter()
net.fit(x_train, y_train, epochs=35, batch_size=1, learning_rate=0.1, seed=0, verbose=2)
seconds = time.perf_counter() - start

scores = net.evaluate(x_test, nnframe.one_hot(y_test, 10))
print(f"trained in {seconds:.1f}s; test accuracy {scores['accuracy']:.2%} "
      f"on {len(x_test):,} images")
