"""The classic XOR demo, written with nnframe: FC(2,3)-tanh-FC(3,1)-tanh, MSE, SGD 0.1.

Run: python examples/xor.py
"""

import numpy as np

import nnframe
from nnframe.datasets import xor

x, y = xor()

net = nnframe.Network([
    nnframe.layer("dense", 2, 3, init="seed_uniform"),  # the seed's U(-0.5, 0.5) weights
    nnframe.layer("tanh"),
    nnframe.layer("dense", 3, 1, init="seed_uniform"),
    nnframe.layer("tanh"),
])
net.use("mse")
history = net.fit(x, y, epochs=1000, batch_size=1, learning_rate=0.1, seed=2, verbose=0)

print(f"final loss {history['loss'][-1]:.6f}")
for sample, target, output in zip(x, y, net.predict(x), strict=True):
    print(f"{sample.astype(int).tolist()} -> {output[0]:+.4f}  (target {int(target[0])}, "
          f"predicted {int(output[0] > 0.5)})")
ok = np.array_equal(net.predict(x) > 0.5, y > 0.5)
print("all four correct" if ok else "not converged: try another seed")
