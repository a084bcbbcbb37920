"""No import circle between the house's own modules (solver, market, web).

The graph is read from the source with `ast`, so it holds every import: at module level, inside
functions and under `if TYPE_CHECKING:` alike. A circle that only a lazy import keeps from failing
is still a circle: the modules cannot be understood, tested or moved one without the other.

An edge runs from a module to each module it names: `from .x import y` names `x` (and `x.y` when that
is a module), `from . import x` names the submodule `x`. Importing `pkg.x` also runs `pkg/__init__.py`,
but that is no edge of its own: otherwise every package whose `__init__` re-exports a submodule would
be a circle with it, and such an `__init__` only gathers names.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("solver", "market", "web")


def module_files() -> dict[str, Path]:
    """Every module of the packages, by dotted name (a package by its own name)."""
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The house's modules that module `name` (at `path`) imports anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            # `from a import b`: b is a submodule of a, or a name defined in a
            targets = [f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in modules else origin
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:       # `import a.b.c` where c is a name: a.b
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def import_graph() -> dict[str, set[str]]:
    modules = module_files()
    return {name: imported(name, path, modules) for name, path in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan), each a set of modules
    that import one another, directly or round about."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def describe(circle: frozenset[str], graph: dict[str, set[str]]) -> str:
    edges = sorted(f"{a} -> {b}" for a in circle for b in graph[a] if b in circle)
    return "{" + ", ".join(sorted(circle)) + "}: " + "; ".join(edges)


def test_the_graph_sees_relative_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    graph = import_graph()
    assert "solver.model" in graph["solver.solving"]          # from .model import ClearingModel
    assert "solver.backends" in graph["solver.solving"]       # from . import backends
    assert "solver.reasons" in graph["solver.clearing"]       # from .reasons import explain_unfunded, ...
    assert "solver.analysis.report" in graph["solver.cli"]    # only inside the report command
    assert "solver" not in graph["solver.clearing"]           # `from . import backends` names backends only
    # No module of the house imports another under TYPE_CHECKING today; a made-up one does.
    typed = tmp_path / "typed.py"
    typed.write_text("from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from .model import ClearingModel\n")
    assert imported("solver.typed", typed, module_files()) == {"solver.model"}


def test_circles_are_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert circles(graph) == [frozenset("abc")]


def test_no_import_circle_between_the_house_modules():
    graph = import_graph()
    found = circles(graph)
    assert not found, "import circles:\n" + "\n".join(describe(c, graph) for c in found)

