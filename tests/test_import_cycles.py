"""The import graph of ``src/visiona`` has no cycles and every import points down the layers.

Imports inside functions count too (a lazy import hides a circle, it does not remove it); only
``if TYPE_CHECKING:`` blocks are left out, since they never run.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def _module_names() -> dict[str, Path]:
    names = {}
    for path in (SRC / "visiona").rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def _resolve(target: str, modules: dict[str, Path]) -> str | None:
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


@functools.cache
def import_graph() -> dict[str, set[str]]:
    """Module → the visiona modules it imports at run time."""
    modules = _module_names()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _runtime_nodes(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}".rstrip(".")
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            for target in targets:
                resolved = _resolve(target, modules) if target.startswith("visiona") else None
                # A module importing its own package's names is not an edge back up.
                if resolved and resolved != name and not name.startswith(resolved + "."):
                    graph[name].add(resolved)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_the_checker_finds_a_planted_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_in_visiona() -> None:
    cycles = find_cycles(import_graph())
    assert cycles == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


# Layers, lowest first: a module may import its own layer and those below, never above.
LAYERS = [
    ("visiona.errors", "visiona.registry", "visiona.defaults", "visiona.progress", "visiona.quiet"),
    ("visiona.ops", "visiona.io", "visiona.results"),
    ("visiona.weights",),
    ("visiona.data", "visiona.tasks"),
    ("visiona.metrics", "visiona.viz"),
    ("visiona.models",),
    ("visiona.engine.predict",),
    (
        "visiona.engine.train",
        "visiona.engine.evaluate",
        "visiona.engine.export",
        "visiona.engine.benchmark",
        "visiona.faces",
    ),
    ("visiona.api", "visiona.serve", "visiona.client"),
    ("visiona.cli", "visiona.__main__"),
]


def _layer(module: str) -> int | None:
    for level, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return level
    return None


@pytest.mark.parametrize("module", sorted(import_graph()))
def test_imports_point_down(module: str) -> None:
    level = _layer(module)
    if level is None:
        return
    upward = sorted(
        target
        for target in import_graph()[module]
        if (target_level := _layer(target)) is not None and target_level > level
    )
    assert upward == [], f"{module} imports from a higher layer: {upward}"


def test_every_module_has_a_layer() -> None:
    # The root package and engine/__init__ only document (the root's exports are lazy strings).
    unplaced = [m for m in import_graph() if _layer(m) is None]
    assert sorted(unplaced) == ["visiona", "visiona.engine"]
