"""The package import graph: the layers of DESIGN.md point one way, and no two packages import each other.

Every `import` of a clarimon module counts, at any depth of a module (a function's deferred import too).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "clarimon"

# package -> the packages it must not import
FORBIDDEN = {
    "engine": {"api", "console", "control", "store", "jobs", "serving", "cli", "server"},
    "store": {"api", "console", "control", "jobs", "cli", "server"},
    "api": {"store", "jobs", "cli", "server"},
    "console": {"api", "store", "jobs", "serving", "cli", "server"},  # reads through control only
    "control": {"jobs", "api", "console", "cli", "server"},
    "jobs": {"api", "console", "cli", "server"},
    "serving": {"api", "console", "control", "store", "jobs", "cli", "server"},
    "objects": {"api", "console", "control", "store", "jobs", "serving", "engine", "cli", "server"},
}


def unit(module: str) -> str:
    """The package (or top-level module) a dotted clarimon module belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def graph() -> dict[str, set[str]]:
    """unit -> the units it imports (itself left out)."""
    edges: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        source = unit(".".join(relative.parts))
        targets = edges.setdefault(source, set())
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            targets.update(unit(name) for name in names if name.startswith("clarimon.") and unit(name) != source)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one unit (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges.get(node, set()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_layers_point_one_way() -> None:
    edges = graph()
    wrong = {f"{source} -> {target}" for source, banned in FORBIDDEN.items() for target in edges.get(source, set())
             if target in banned}
    assert not wrong, sorted(wrong)


def test_no_import_cycle_between_packages() -> None:
    assert cycles(graph()) == []


def test_the_checks_see_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert unit("clarimon.control.cron") == "control" and unit("clarimon.errors") == "errors"
