"""The built-in weight initializers, registered by name like every other component.

Layers take an initializer's registered name (``Dense(init="he_normal")``), check it with
the `nnframe.core.contracts.initializer.check_init` validator and draw with
`nnframe.core.contracts.initializer.initialize`; plugins add initializers through
``register_initializers``.
"""

from nnframe.initializers.standard import (
    DRAW_CHUNK,
    Constant,
    FanInUniform,
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    SeedUniform,
    Zeros,
    drawn,
)

__all__ = ["DRAW_CHUNK", "Constant", "FanInUniform", "GlorotNormal", "GlorotUniform",
           "HeNormal", "HeUniform", "SeedUniform", "Zeros", "drawn"]
