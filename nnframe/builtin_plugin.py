"""The built-in plugin: nnframe's own components, registered through the public hooks.

It is loaded first, as the plugin ``nnframe``, exactly the way a third-party plugin is.
Factories are named as ``"module:Name"`` strings, so listing components imports none of
them (nor NumPy); each is imported when first built.
"""

from __future__ import annotations

from nnframe.core.hookspecs import Register, hookimpl


def _register_all(register: Register, package: str, table: dict[str, str]) -> None:
    for name, reference in table.items():
        register(name, f"{package}.{reference}")


@hookimpl
def register_layers(register: Register) -> None:
    _register_all(register, "nnframe.layers", {
        "dense": "dense:Dense",
        "tanh": "activations:Tanh",
        "sigmoid": "activations:Sigmoid",
        "relu": "activations:ReLU",
        "leaky_relu": "activations:LeakyReLU",
        "softmax": "activations:Softmax",
        "log_softmax": "activations:LogSoftmax",
        "silu": "activations:SiLU",
        "elu": "activations:ELU",
        "softplus": "activations:Softplus",
        "hard_sigmoid": "activations:HardSigmoid",
        "dropout": "dropout:Dropout",
        "flatten": "flatten:Flatten",
        "sequential": "composite:Sequential",
        "residual": "composite:Residual",
        "parallel": "composite:Parallel",
        "batch_norm": "normalization:BatchNorm",
        "layer_norm": "normalization:LayerNorm",
        "embedding": "embedding:Embedding",
        "standardize": "standardize:Standardize",
        "gelu": "gelu:GELU",
    })


@hookimpl
def register_losses(register: Register) -> None:
    _register_all(register, "nnframe.losses", {
        "mse": "mse:MeanSquaredError",
        "mae": "mae:MeanAbsoluteError",
        "huber": "huber:Huber",
        "smooth_l1": "huber:SmoothL1",
        "cross_entropy": "cross_entropy:CrossEntropy",
        "binary_cross_entropy": "cross_entropy:BinaryCrossEntropy",
    })


@hookimpl
def register_optimizers(register: Register) -> None:
    _register_all(register, "nnframe.optimizers", {
        "sgd": "sgd:SGD",
        "adam": "adam:Adam",
        "adamw": "adam:AdamW",
        "rmsprop": "rmsprop:RMSprop",
    })


@hookimpl
def register_initializers(register: Register) -> None:
    _register_all(register, "nnframe.initializers", {
        "glorot_uniform": "standard:GlorotUniform",
        "glorot_normal": "standard:GlorotNormal",
        "he_uniform": "standard:HeUniform",
        "he_normal": "standard:HeNormal",
        "zeros": "standard:Zeros",
        "constant": "standard:Constant",
        "fan_in_uniform": "standard:FanInUniform",
        "seed_uniform": "standard:SeedUniform",
    })


@hookimpl
def register_metrics(register: Register) -> None:
    _register_all(register, "nnframe.metrics", {
        "accuracy": "accuracy:Accuracy",
        "top_k_accuracy": "accuracy:TopKAccuracy",
        "precision": "confusion:Precision",
        "recall": "confusion:Recall",
        "f1": "confusion:F1",
        "mae": "regression:MeanAbsoluteError",
    })


@hookimpl
def register_schedules(register: Register) -> None:
    _register_all(register, "nnframe.schedules", {
        "constant": "fixed:Constant",
        "step": "fixed:StepDecay",
        "exponential": "fixed:ExponentialDecay",
        "cosine": "cosine:CosineDecay",
        "reduce_on_plateau": "plateau:ReduceOnPlateau",
    })


@hookimpl
def register_callbacks(register: Register) -> None:
    _register_all(register, "nnframe.callbacks", {
        "early_stopping": "early_stopping:EarlyStopping",
        "model_checkpoint": "checkpoint:ModelCheckpoint",
        "csv_logger": "csv_logger:CSVLogger",
        "tensorboard": "tensorboard:TensorBoard",
        "mlflow": "mlflow_logger:MLflowLogger",
        "progress_display": "progress:FitDisplay",
    })


@hookimpl
def register_datasets(register: Register) -> None:
    _register_all(register, "nnframe.datasets", {
        "xor": "catalog:xor_dataset",
        "mnist": "catalog:mnist_dataset",
        "mnist_sample": "catalog:mnist_sample_dataset",
        "csv": "readers.tables:CSV",
        "parquet": "readers.tables:Parquet",
        "npy": "readers.arrays:Npy",
        "npz": "readers.arrays:Npz",
        "image_folder": "readers.images:ImageFolder",
    })


@hookimpl
def register_converters(register: Register) -> None:
    # One per layer above, under the layer's name (see nnframe.onnx.lookup).
    _register_all(register, "nnframe.onnx", {
        "dense": "converters:DenseConverter",
        "tanh": "converters:TanhConverter",
        "sigmoid": "converters:SigmoidConverter",
        "relu": "converters:ReLUConverter",
        "leaky_relu": "converters:LeakyReLUConverter",
        "softmax": "converters:SoftmaxConverter",
        "log_softmax": "converters:LogSoftmaxConverter",
        "silu": "converters:SiLUConverter",
        "elu": "converters:ELUConverter",
        "softplus": "converters:SoftplusConverter",
        "hard_sigmoid": "converters:HardSigmoidConverter",
        "dropout": "converters:DropoutConverter",
        "flatten": "converters:FlattenConverter",
        "sequential": "converters:SequentialConverter",
        "residual": "converters:ResidualConverter",
        "parallel": "converters:ParallelConverter",
        "batch_norm": "normalization:BatchNormConverter",
        "layer_norm": "normalization:LayerNormConverter",
        "standardize": "normalization:StandardizeConverter",
        "embedding": "normalization:EmbeddingConverter",
        "gelu": "gelu:GELUConverter",
    })


@hookimpl
def register_kernels(register: Register) -> None:
    # The NumPy references of the named kernels (nnframe.speed.kernels.SPECS); plugins may
    # register faster versions under the same names.
    _register_all(register, "nnframe.speed", {
        "adam_step": "blocked:adam_step",
        "adamw_step": "blocked:adamw_step",
        "sgd_step": "blocked:sgd_step",
        "rmsprop_step": "blocked:rmsprop_step",
    })
