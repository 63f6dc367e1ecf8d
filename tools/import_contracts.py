"""An import-linter contract that import-linter lacks: no import cycle between modules.

import-linter's ``acyclic_siblings`` forbids cycles between packages; nnframe's rule is
about modules: no module may import itself through others, lazily or not (type-only
imports aside), so that every module can be read, imported and tested after those below
it. `ModuleCyclesContract` (type ``module_cycles``) finds the strongly connected parts of
the import graph of ``root`` and reports each cycle with its import lines; ``max_levels``
bounds the longest chain of imports that starts in ``top`` (the command line).
"""

from __future__ import annotations

import grimp
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


class ModuleCyclesContract(Contract):
    """No import cycle among the modules of ``root``; chains from ``top`` at most
    ``max_levels`` modules long."""

    type_name = "module_cycles"

    root = fields.StringField()
    top = fields.StringField(required=False)
    max_levels = fields.IntegerField(required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        modules = sorted(m for m in graph.modules
                         if m == self.root or m.startswith(f"{self.root}."))
        imports = {m: sorted(i for i in graph.find_modules_directly_imported_by(m)
                             if i in set(modules)) for m in modules}
        cycles = [sorted(part) for part in _strongly_connected(modules, imports)
                  if len(part) > 1]
        metadata: dict = {"cycles": cycles, "graph": graph}
        kept = not cycles
        if not cycles and self.top:
            chain = _longest_chain([m for m in modules if m == self.top
                                    or m.startswith(f"{self.top}.")], imports)
            metadata["chain"] = chain
            if self.max_levels is not None and len(chain) > self.max_levels:
                kept = False
        return ContractCheck(kept=kept, metadata=metadata)

    def render_broken_contract(self, check: ContractCheck) -> None:
        graph = check.metadata["graph"]
        for cycle in check.metadata["cycles"]:
            output.print_error(f"Import cycle among {len(cycle)} modules:", bold=True)
            members = set(cycle)
            for module in cycle:
                for imported in sorted(graph.find_modules_directly_imported_by(module)):
                    if imported in members:
                        lines = graph.get_import_details(importer=module, imported=imported)
                        where = ", ".join(f"l.{d['line_number']}" for d in lines)
                        output.print(f"- {module} -> {imported} ({where})")
            output.new_line()
        chain = check.metadata.get("chain")
        if chain:
            output.print_error(f"The longest chain of imports from {self.top} has "
                               f"{len(chain)} modules (at most {self.max_levels}):", bold=True)
            output.print(" -> ".join(chain))


def _strongly_connected(modules: list[str], imports: dict[str, list[str]]
                        ) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    parts: list[list[str]] = []
    for start in modules:
        if start in index:
            continue
        work = [(start, iter(imports[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(imports[child])))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                part = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    part.append(member)
                    if member == module:
                        break
                parts.append(part)
    return parts


def _longest_chain(starts: list[str], imports: dict[str, list[str]]) -> list[str]:
    """The longest path of imports from any of ``starts`` (the graph has no cycle)."""
    best: dict[str, list[str]] = {}

    def longest(module: str) -> list[str]:
        if module not in best:
            tails = [longest(child) for child in imports[module]]
            best[module] = [module, *max(tails, key=len, default=[])]
        return best[module]

    return max((longest(m) for m in starts), key=len, default=[])
