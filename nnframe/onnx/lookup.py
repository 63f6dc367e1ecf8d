"""Which converter turns a layer into ONNX nodes: the resolution rule.

A layer registered as ``distribution:name`` is converted by:

1. the converter its own distribution registers under the same name (``nnframe:dense``
   for nnframe's ``dense``, ``nnframe-conv:conv2d`` for ``conv2d``), unless that converter
   declares that it converts another distribution's layer (`Converter.converts`);
2. else, the one converter registered under the same name by another distribution that
   declares ``converts = "distribution:name"``: that is how a third party converts a
   layer of a plugin that does not convert its own; two such converters are ambiguous,
   an error naming both;
3. else there is none, and export stops with an error naming the layer and its
   distribution.

So the layer's own distribution always wins, a converter registered under a name that
another distribution's layer happens to share never converts that layer, and nothing is
chosen silently. Only converters registered under the layer's name are imported to read
``converts``.
"""

from __future__ import annotations

from typing import Any

from nnframe.constants import normalize_distribution
from nnframe.core.registry import Component, Registry, get_registry
from nnframe.errors import AmbiguousComponentError


def converts(converter: Component) -> str | None:
    """The qualified layer name a converter declares it converts, normalised, or None."""
    target: Any = getattr(converter.factory, "converts", None)
    if not isinstance(target, str) or ":" not in target:
        return None
    distribution, _, name = target.partition(":")
    return f"{normalize_distribution(distribution)}:{name}"


def converter_for(layer: Component, registry: Registry | None = None) -> Component | None:
    """The converter of a registered layer by the rule above, or None when it has none.

    Raises `AmbiguousComponentError` when several other distributions claim the layer.
    """
    table = registry or get_registry()
    distribution = normalize_distribution(layer.distribution)
    wanted = f"{distribution}:{layer.name}"
    candidates = [c for c in table.components("converter") if c.name == layer.name]
    own = [c for c in candidates if normalize_distribution(c.distribution) == distribution]
    for converter in own:
        if converts(converter) in (None, wanted):
            return converter
    claims = [c for c in candidates if c not in own and converts(c) == wanted]
    if len(claims) > 1:
        listing = ", ".join(f"{c.qualified_name} (plugin {c.plugin!r})" for c in claims)
        raise AmbiguousComponentError(
            f"the layer {layer.qualified_name} has no converter of its own and several "
            f"plugins convert it: {listing}; uninstall all but one, or limit the plugins "
            "loaded with NNFRAME_LOAD_PLUGINS")
    return claims[0] if claims else None
