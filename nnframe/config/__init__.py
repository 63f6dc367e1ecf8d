"""TOML training configs: read, check everything at once, then build and train.

    config = load_config("examples/mnist_seed.toml")   # ConfigFileError lists every problem
    network = config.build_network()
    data = load_data(config.data)
"""

from nnframe.config.data import Splits, load_data
from nnframe.config.problems import ConfigFileError
from nnframe.config.schema import ComponentSpec, Config, DataSpec, TrainSpec
from nnframe.config.toml import read_toml
from nnframe.config.validate import load_config, parse_config

__all__ = [
    "ComponentSpec",
    "Config",
    "ConfigFileError",
    "DataSpec",
    "Splits",
    "TrainSpec",
    "load_config",
    "load_data",
    "parse_config",
    "read_toml",
]
