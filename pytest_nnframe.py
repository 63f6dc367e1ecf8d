"""nnframe's pytest plugin (entry point group ``pytest11``): check a distribution's components.

    import pytest
    from nnframe.testing import check_component

    @pytest.mark.nnframe_components("my-nnframe-plugin")
    def test_component_honours_its_contract(nnframe_component):
        check_component(nnframe_component)

The marker parametrizes ``nnframe_component`` with every component the installed
distribution registers (test ids such as ``layer-swish``); a plugin of it that fails to load
fails collection with its error. This module stays tiny and imports nnframe only for tests
that carry the marker, so projects that do not use it pay nothing.
"""

from __future__ import annotations

import pytest

MARKER = "nnframe_components"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(distribution): run the test once per component the installed nnframe "
        "plugin distribution registers, as the argument nnframe_component",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker(MARKER)
    if marker is None:
        return
    distribution = marker.kwargs.get("distribution", marker.args[0] if marker.args else None)
    if not isinstance(distribution, str):
        pytest.fail(f"{metafunc.definition.nodeid}: use @pytest.mark.{MARKER}"
                    "('distribution-name')", pytrace=False)
    if "nnframe_component" not in metafunc.fixturenames:
        pytest.fail(f"{metafunc.definition.nodeid}: a test marked {MARKER} takes the "
                    "argument nnframe_component", pytrace=False)
    from nnframe.testing.components import components_of, distribution_problems

    problems = distribution_problems(distribution)
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)
    metafunc.parametrize(
        "nnframe_component",
        [pytest.param(c, id=f"{c.kind}-{c.name}") for c in components_of(distribution)],
    )


@pytest.fixture
def nnframe_component() -> None:
    """Given by the ``nnframe_components`` marker; without it there is nothing to give."""
    pytest.fail(f"mark the test with @pytest.mark.{MARKER}('your-distribution') to receive "
                "each of its components as nnframe_component", pytrace=False)
