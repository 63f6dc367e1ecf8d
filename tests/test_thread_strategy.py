"""``fit(strategy="threads")``: each batch split over threads of one process, trained
into the one-thread model up to float rounding."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import nnframe
from nnframe.distributed import ThreadStrategy, resolve
from nnframe.distributed.threads import WORKER_NAME, Replica


def data(n: int = 203, features: int = 12, classes: int = 4, seed: int = 0
         ) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, features)), rng.integers(0, classes, n)


def network(*extra: str, dtype: str = "float64") -> nnframe.Network:
    layers = [nnframe.layer("dense", output_size=16), nnframe.layer("tanh")]
    for name in extra:
        layers.append(nnframe.layer(name) if name != "dropout"
                      else nnframe.layer("dropout", rate=0.3))
    layers.append(nnframe.layer("dense", output_size=4))
    return nnframe.Network(layers, dtype=dtype).use("cross_entropy", "adam")


def weights(net: nnframe.Network) -> list[np.ndarray]:
    return [p.value.copy() for p in net.parameters()]


def share_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate()
            if t.name.startswith(WORKER_NAME) and t.is_alive()]


def max_difference(a: nnframe.Network, b: nnframe.Network) -> float:
    return max(float(np.abs(p.value - q.value).max())
               for p, q in zip(a.parameters(), b.parameters(), strict=True))


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("batch", [1, 16, 33])
def test_threads_train_the_one_thread_model(threads, batch):
    x, y = data()
    fit = {"epochs": 3, "batch_size": batch, "seed": 4, "verbose": 0, "validation_split": 0.1}
    alone, split = network(), network()
    h1 = alone.fit(x, y, **fit)
    h2 = split.fit(x, y, strategy=ThreadStrategy(threads), **fit)
    assert max_difference(alone, split) < 1e-10  # float64: the sums' order only
    for key in h1.history:
        np.testing.assert_allclose(h2.history[key], h1.history[key], rtol=1e-9, atol=1e-12)
    assert not share_threads()  # the workers stopped with the run


def test_a_float32_network_stays_within_float32_rounding():
    x, y = data(256)
    alone, split = network(dtype="float32"), network(dtype="float32")
    alone.fit(x.astype(np.float32), y, epochs=2, batch_size=32, seed=1, verbose=0)
    split.fit(x.astype(np.float32), y, epochs=2, batch_size=32, seed=1, verbose=0,
              strategy=ThreadStrategy(2))
    assert max_difference(alone, split) < 1e-5


def test_sample_and_class_weights_weight_the_whole_batch_as_one_thread_does():
    x, y = data()
    w = np.random.default_rng(1).uniform(0.1, 3.0, len(x))
    fit = {"epochs": 2, "batch_size": 20, "seed": 2, "verbose": 0, "sample_weight": w,
           "class_weight": "balanced"}
    alone, split = network(), network()
    alone.fit(x, y, **fit)
    split.fit(x, y, strategy=ThreadStrategy(2), **fit)
    assert max_difference(alone, split) < 1e-10


def test_a_composite_layer_shares_its_weights_with_the_replicas():
    def residual_network() -> nnframe.Network:
        block = nnframe.layer("residual", [nnframe.layer("dense", output_size=16),
                                           nnframe.layer("relu")])
        return nnframe.Network([nnframe.layer("dense", output_size=16), block,
                                nnframe.layer("dense", output_size=4)],
                               dtype="float64").use("cross_entropy", "sgd")

    x, y = data()
    alone, split = residual_network(), residual_network()
    alone.fit(x, y, epochs=2, batch_size=32, seed=0, verbose=0)
    split.fit(x, y, epochs=2, batch_size=32, seed=0, verbose=0, strategy=ThreadStrategy(2))
    assert max_difference(alone, split) < 1e-10


def test_a_replica_holds_the_weights_themselves_and_gradients_of_its_own():
    x, _ = data()
    net = network()
    net.build(x.shape[1:])
    group = net.parameters()
    replica = Replica.of(net, group)
    for index, layer in enumerate(replica.layers):
        for name, value in layer.params.items():
            assert value is net.layers[index].params[name]
            assert layer.grads[name] is not net.layers[index].grads[name]
            assert np.shares_memory(layer.grads[name], replica.grads)
    out = replica.forward(x[:8])
    np.testing.assert_array_equal(out, net.forward(x[:8], training=True))


def test_dropout_draws_the_same_masks_every_run_from_the_seed():
    x, y = data()
    fit = {"epochs": 2, "batch_size": 16, "seed": 7, "verbose": 0}
    first, second, alone = network("dropout"), network("dropout"), network("dropout")
    first.fit(x, y, strategy=ThreadStrategy(2), **fit)
    second.fit(x, y, strategy=ThreadStrategy(2), **fit)
    alone.fit(x, y, **fit)
    for a, b in zip(weights(first), weights(second), strict=True):
        np.testing.assert_array_equal(a, b)
    # the worker's share draws its own masks, not the calling thread's (as under MPI)
    assert max_difference(first, alone) > 1e-6


def test_stopping_inside_an_epoch_then_resuming_is_the_uninterrupted_run(tmp_path):
    x, y = data()
    fit = {"batch_size": 16, "verbose": 0, "epochs": 3}
    whole = network("dropout")
    whole.fit(x, y, seed=3, strategy=ThreadStrategy(2), **fit)

    class StopAt(nnframe.Callback):
        def on_batch_end(self, batch, logs):
            if self.network.epoch == 1 and batch == 4:
                self.network.stop_training = True

    stopped = network("dropout")
    stopped.fit(x, y, seed=3, callbacks=[StopAt()], strategy=ThreadStrategy(2), **fit)
    resumed = nnframe.load(stopped.save(tmp_path / "stopped.npz"))
    resumed.fit(x, y, initial_epoch=resumed.epoch, strategy=ThreadStrategy(2), **fit)
    for a, b in zip(weights(whole), weights(resumed), strict=True):
        np.testing.assert_array_equal(a, b)


def test_batch_statistics_are_averaged_over_the_shares_at_the_end_of_each_epoch():
    x, y = data()
    net = network("batch_norm")
    net.fit(x, y, epochs=2, batch_size=32, seed=0, verbose=0, strategy=ThreadStrategy(2))
    assert all(np.isfinite(value).all() for value in net.state().values())
    strategy = ThreadStrategy(2)
    strategy.start(net, {}, {})
    try:
        replica = strategy._replicas[0]
        mine = {key: value.copy() for key, value in net.state().items()}
        for value in replica.state().values():
            if value.dtype.kind == "f":
                value += 1.0
        strategy.end_epoch(net, {})
        for key, value in net.state().items():
            if value.dtype.kind == "f":
                np.testing.assert_allclose(value, mine[key] + 0.5, rtol=1e-6)
            np.testing.assert_array_equal(replica.state()[key], value)
    finally:
        strategy.close()


def test_an_error_in_a_worker_share_is_raised_in_the_training_thread():
    relu = type(nnframe.layer("relu"))

    class Picky(relu):
        def forward(self, x, training=False):
            if (x == 999.0).any():
                raise ValueError("row with 999")
            return super().forward(x, training)

    x, y = data(64)
    x[50] = 999.0  # in the second share of batch 1 (rows 32-63)
    net = nnframe.Network([Picky(), nnframe.layer("dense", output_size=4)],
                          dtype="float64").use("cross_entropy", "sgd")
    with pytest.raises(ValueError, match="row with 999"):
        net.fit(x, y, epochs=1, batch_size=32, shuffle=False, seed=0, verbose=0,
                strategy=ThreadStrategy(2))
    assert not share_threads()


def test_the_blas_gets_its_threads_back_after_the_run():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [info["num_threads"] for info in threadpoolctl.threadpool_info()]
    x, y = data()
    network().fit(x, y, epochs=1, batch_size=32, seed=0, verbose=0,
                  strategy=ThreadStrategy(2))
    assert [info["num_threads"] for info in threadpoolctl.threadpool_info()] == before


def test_the_strategy_is_named_and_checked():
    strategy = resolve("threads")
    assert isinstance(strategy, ThreadStrategy) and strategy.threads >= 1
    assert ThreadStrategy(3).describe() == "1 process, 3 threads"
    assert ThreadStrategy(1).describe() == "1 process, 1 thread"
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="positive number of threads"):
            ThreadStrategy(bad)


def test_one_thread_is_the_plain_loop():
    x, y = data()
    alone, one = network(), network()
    alone.fit(x, y, epochs=2, batch_size=16, seed=0, verbose=0)
    one.fit(x, y, epochs=2, batch_size=16, seed=0, verbose=0, strategy=ThreadStrategy(1))
    for a, b in zip(weights(alone), weights(one), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("plugin", ["nnframe_conv", "nnframe_recurrent"])
def test_conv_and_recurrent_layers_train_the_one_thread_model(plugin):
    pytest.importorskip(plugin)
    rng = np.random.default_rng(0)
    if plugin == "nnframe_conv":
        x = rng.standard_normal((70, 9, 8, 2))
        layers = [("conv2d", {"filters": 3, "kernel_size": 3}), ("relu", {}),
                  ("maxpool2d", {"pool_size": 2}), ("flatten", {})]
    else:
        x = rng.standard_normal((70, 6, 3))
        layers = [("lstm", {"units": 5, "return_sequences": True}), ("gru", {"units": 4})]
    y = rng.integers(0, 3, len(x))

    def make() -> nnframe.Network:
        return nnframe.Network([*(nnframe.layer(name, **options) for name, options in layers),
                                nnframe.layer("dense", output_size=3)],
                               dtype="float64").use("cross_entropy", "adam")

    alone, split = make(), make()
    alone.fit(x, y, epochs=2, batch_size=16, seed=0, verbose=0)
    split.fit(x, y, epochs=2, batch_size=16, seed=0, verbose=0, strategy=ThreadStrategy(2))
    assert max_difference(alone, split) < 1e-10


def test_a_config_asks_for_threads_and_the_banner_says_so(tmp_path):
    from typer.testing import CliRunner

    from nnframe.cli import app
    from nnframe.cli.training import _threads_if_asked
    from nnframe.config import parse_config
    from nnframe.config.problems import ConfigFileError
    from nnframe.distributed import Strategy
    from nnframe.errors import ConfigError

    config = {"model": {"layers": [{"type": "dense", "output_size": 8}, {"type": "tanh"},
                                   {"type": "dense", "output_size": 10}]},
              "loss": {"type": "cross_entropy"}, "optimizer": {"type": "adam"},
              "data": {"dataset": "mnist_sample", "subset": 200, "test_subset": 50,
                       "flatten": True},
              "train": {"epochs": 1, "batch_size": 20, "seed": 0}}
    lines = ['[model]', 'layers = [{ type = "dense", output_size = 8 }, { type = "tanh" },',
             '          { type = "dense", output_size = 10 }]', '[loss]',
             'type = "cross_entropy"', '[optimizer]', 'type = "adam"', '[data]',
             'dataset = "mnist_sample"', 'subset = 200', 'test_subset = 50', 'flatten = true',
             '[train]', 'epochs = 1', 'batch_size = 20', 'seed = 0']
    models = {}
    for name, extra in (("one", []), ("split", ['strategy = "threads"'])):
        path = tmp_path / f"{name}.toml"
        path.write_text("\n".join(lines + extra) + "\n")
        result = CliRunner().invoke(app, ["train", str(path), "-o",
                                          str(tmp_path / f"{name}.npz")])
        assert result.exit_code == 0, result.output
        assert ("split over 1 process, " in result.output) is (name == "split")
        models[name] = nnframe.load(tmp_path / f"{name}.npz")
    assert max_difference(models["one"], models["split"]) < 1e-5
    threaded = parse_config({**config, "train": {**config["train"], "strategy": "threads"}})
    assert isinstance(_threads_if_asked(threaded, Strategy()), ThreadStrategy)

    class TwoProcesses(Strategy):
        size = 2

    with pytest.raises(ConfigError, match="but mpiexec started several"):
        _threads_if_asked(threaded, TwoProcesses())
    with pytest.raises(ConfigFileError, match=r"train.strategy: must be one of 'threads'"):
        parse_config({**config, "train": {**config["train"], "strategy": "mpi"}})


@pytest.mark.parametrize("limit", ["mapped", "row by row"])
def test_rows_streamed_from_a_file_train_the_in_memory_split_model(tmp_path, monkeypatch,
                                                                     limit):
    from nnframe.datasets import streaming

    if limit == "row by row":  # read on the prefetch thread, beside the share workers
        monkeypatch.setattr(streaming, "MAP_LIMIT", 0)
    x, y = data()
    np.save(tmp_path / "x.npy", x)
    fit = {"epochs": 2, "batch_size": 16, "seed": 3, "verbose": 0}
    memory, streamed = network("dropout"), network("dropout")
    memory.fit(x, y, strategy=ThreadStrategy(2), **fit)
    streamed.fit(streaming.npy_rows(tmp_path / "x.npy"), y, strategy=ThreadStrategy(2), **fit)
    for a, b in zip(weights(memory), weights(streamed), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not share_threads()


def test_ctrl_c_stops_the_workers_and_gives_the_blas_back():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [info["num_threads"] for info in threadpoolctl.threadpool_info()]

    class Interrupt(nnframe.Callback):
        def on_batch_end(self, batch, logs):
            if batch == 2:
                raise KeyboardInterrupt  # as Ctrl-C does

    x, y = data()
    with pytest.raises(KeyboardInterrupt):
        network().fit(x, y, epochs=2, batch_size=16, seed=0, verbose=0,
                      callbacks=[Interrupt()], strategy=ThreadStrategy(2))
    assert not share_threads()
    assert [info["num_threads"] for info in threadpoolctl.threadpool_info()] == before


def test_without_threadpoolctl_a_blas_with_several_threads_is_a_warning(monkeypatch):
    import sys

    from nnframe.speed import parallel

    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails
    monkeypatch.setattr(parallel, "blas_threads", lambda: 4)
    x, y = data(64)
    with pytest.warns(RuntimeWarning, match=r"BLAS, which has 4 threads.*nnframe\[threads\]"):
        network().fit(x, y, epochs=1, batch_size=32, seed=0, verbose=0,
                      strategy=ThreadStrategy(2))
    assert not share_threads()
