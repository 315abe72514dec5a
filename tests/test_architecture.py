"""The layers hold: imports point one way, with no cycles, function-level imports included.

Read from the source (every ``import`` statement, wherever it is), not from
what happens to be imported at run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGES = ("sim", "policies", "analysis", "gpsim")

#: What each part of the code may import (prefixes of module names), beside itself.
ALLOWED = {
    "sim.files": (),
    "sim.processes": (),
    "sim.codes": (),
    "sim.ordering": (),
    "sim.inputs": ("sim.files", "sim.codes", "sim.ordering"),
    "sim.world": ("sim.codes", "sim.ordering", "sim.inputs"),
    "sim.engine": ("sim.codes", "sim.ordering", "sim.inputs", "sim.world"),
    "sim.outcomes": ("sim.codes", "sim.ordering", "sim.inputs", "sim.world", "sim.engine"),
    "sim.runs": ("sim.",),
    "sim": ("sim.",),  # sim/__init__.py: the public names
    "policies": ("sim.codes", "sim.inputs", "sim.engine"),
    # analysis never simulates: no world, engine or runners (nothing from sim.runs at all).
    "analysis": ("sim.files", "sim.processes", "sim.codes", "sim.ordering", "sim.inputs",
                 "sim.outcomes"),
    "gpsim": ("sim", "policies", "analysis"),
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module this file imports from the project's packages, anywhere in the file."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            # "from . import kernel" imports a module too
            found |= {f"{mod}.{a.name}" for a in node.names}
    return {m for m in found if m.split(".")[0] in PACKAGES}


def _graph() -> dict[str, set[str]]:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    modules = {_module_name(p): p for p in files}
    graph = {}
    for name, path in modules.items():
        # keep only imports that name a module (drop "from x import function")
        graph[name] = {m for m in _imports(path) if m in modules and m != name}
    return graph


def _layer(name: str) -> str:
    for key in sorted(ALLOWED, key=len, reverse=True):
        if name == key or name.startswith(key + "."):
            return key
    raise AssertionError(f"{name} is in no layer")


def test_imports_point_one_way():
    wrong = []
    for name, deps in _graph().items():
        layer = _layer(name)
        for dep in deps:
            if _layer(dep) == layer or dep.startswith(layer + "."):
                continue
            if not any(dep == a or dep.startswith(a if a.endswith(".") else a + ".")
                       or (not a.endswith(".") and dep == a) for a in ALLOWED[layer]):
                wrong.append(f"{name} imports {dep}")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycles():
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            # a package importing its own submodules is not a cycle of modules
            real = [m for m in component if not any(o.startswith(m + ".") for o in component)]
            if len(real) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_layers_are_found():
    """The checks above see the code (a guard against checking nothing)."""
    graph = _graph()
    assert "sim.engine.kernel" in graph and "sim.world.build" in graph
    assert "sim.world.build" in graph["sim.engine.practice"]
    assert len(graph) > 40


def test_no_file_of_the_engine_is_longer_than_a_reader_can_hold():
    """Every file in sim/ stays at about 600 lines or fewer: split by concern beyond that."""
    long = [f"{p.relative_to(ROOT)}: {n} lines" for p in sorted((ROOT / "sim").rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600]
    assert not long, long


def test_the_benchmarks_import_each_other_one_way():
    files = {p.stem: p for p in (ROOT / "benchmarks").glob("*.py")}
    graph = {}
    for name, path in files.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
        graph[name] = found & set(files) - {name}
    assert graph["naive_simpy"] and graph["bench"], "the check sees the imports"

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n}))
                   for n in graph[start])

    assert not [n for n in graph if reaches(n, n, set())], graph
