"""The architecture stays as docs/architecture.md describes it: a core read in an afternoon,
hooks written by hand for every kind, contracts that say each member once."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Protocol

import pytest

import nnframe
from nnframe.core import contracts, hookspecs
from nnframe.core.kinds import KINDS, protocol_members

ROOT = Path(__file__).resolve().parents[1]
CORE_BUDGET = 2500
"""The core's size, docstrings included: what a newcomer reads in an afternoon."""


def reading_list() -> list[tuple[str, int]]:
    """``(path, lines)`` of each row of the "Read the core in an afternoon" table."""
    page = (ROOT / "docs" / "architecture.md").read_text()
    section = page.split("## Read the core in an afternoon", 1)[1].split("\n## ", 1)[0]
    return [(path, int(lines)) for path, lines in
            re.findall(r"^\| *\d+ *\| *`([^`]+)` *\| *(\d+) *\|", section, re.MULTILINE)]


def core_files() -> list[Path]:
    return sorted((ROOT / "nnframe" / "core").rglob("*.py"))


def test_the_reading_list_names_every_core_file_once_with_its_length():
    listed = reading_list()
    paths = [path for path, _ in listed]
    assert len(paths) == len(set(paths)), "a file is listed twice"
    assert set(paths) == {str(p.relative_to(ROOT)) for p in core_files()}
    for path, lines in listed:
        actual = len((ROOT / path).read_text().splitlines())
        assert lines == actual, f"docs/architecture.md says {path} has {lines} lines: {actual}"


def test_the_core_fits_its_budget_and_the_page_says_its_total():
    total = sum(len(p.read_text().splitlines()) for p in core_files())
    assert total <= CORE_BUDGET, (f"nnframe/core/ has {total} lines, over the budget of "
                                  f"{CORE_BUDGET}: move what a learner need not read out")
    page = (ROOT / "docs" / "architecture.md").read_text()
    assert f"{total:,} lines" in page


def spec_functions() -> dict[str, object]:
    marker = f"{hookspecs.PROJECT_NAME}_spec"
    return {name: function for name, function in vars(hookspecs).items()
            if callable(function) and hasattr(function, marker)}


def test_every_kind_has_a_documented_hook_written_by_hand():
    specs = spec_functions()
    assert list(specs) == [kind.hook for kind in KINDS]
    source = inspect.getsource(hookspecs)
    for kind in KINDS:
        assert f"def {kind.hook}(register: Register) -> None:" in source
        assert kind.plural in (specs[kind.hook].__doc__ or "")


@pytest.mark.parametrize("kind", [k for k in KINDS if k.contract], ids=lambda k: k.name)
def test_a_kinds_required_members_are_its_protocols(kind):
    module, _, name = kind.contract.partition(":")
    protocol = getattr(__import__(module, fromlist=[name]), name)
    assert issubclass(protocol, Protocol)
    assert kind.members == protocol_members(protocol) and kind.members


@pytest.mark.parametrize("options", [contracts.layer.LayerOptions, contracts.loss.LossOptions,
                                     contracts.metric.MetricOptions,
                                     contracts.schedule.ScheduleOptions])
def test_optional_members_are_declared_apart_from_the_required_ones(options):
    required = getattr(contracts, options.__name__.replace("Options", "Protocol"))
    optional = protocol_members(options)
    assert optional and not set(optional) & set(protocol_members(required))


def test_public_names_are_written_once_and_all_resolve():
    table = nnframe._PUBLIC
    names = [name for names in table.values() for name in names]
    assert len(names) == len(set(names))
    assert nnframe.__all__ == sorted(["__version__", *names])
    for module, module_names in table.items():
        for name in module_names:
            assert getattr(nnframe, name) is getattr(__import__(module, fromlist=[name]), name)
