"""The project's layering, read from the source: ``disentangle`` (the science, never Ray) <-
``trainables`` <- ``study``; ``analysis`` reads results with ``disentangle``. No two modules
import each other, directly or around a circle, and no two parts of a package do either
(a subpackage counted with everything in it). Imports inside functions count as much as
those at the top: a circle hidden in a function is still a circle.

The modules are discovered, not listed, so a file moved or added is checked as it is.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("disentangle", "trainables", "study", "analysis")
#: What ``disentangle`` must never import: the layers above it, and Ray.
ABOVE_DISENTANGLE = ("ray", "trainables", "study", "analysis")


def project_modules() -> dict[str, Path]:
    """Every module of the project's packages by dotted name (a package by its own name)."""
    modules = {}
    for package in PACKAGES:
        for file in sorted((ROOT / package).rglob("*.py")):
            parts = file.relative_to(ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = file
    return modules


def imported_names(name: str, file: Path) -> set[str]:
    """The absolute dotted names ``file`` (module ``name``) imports anywhere in it; ``X.Y`` for
    ``from X import Y``, which is module ``X.Y`` when there is one, else a name in ``X``."""
    names = set()
    package = name.split(".") if file.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(file.read_text(), str(file))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (each name resolved to the longest module
    it starts with)."""
    modules = project_modules()
    graph = {}
    for name, file in modules.items():
        targets = set()
        for imported in imported_names(name, file):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one node (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def package_graph(graph: dict[str, set[str]], package: str) -> dict[str, set[str]]:
    """The imports among the parts of ``package`` (the top level: ``""``): its own modules and
    its subpackages, each subpackage standing for everything in it."""
    depth = len(package.split(".")) if package else 0

    def part(module: str) -> str | None:
        parts = module.split(".")
        inside = package == "" or module.startswith(package + ".")
        return ".".join(parts[:depth + 1]) if inside and len(parts) > depth else None

    parts: dict[str, set[str]] = {}
    for module, targets in graph.items():
        source = part(module)
        if source is not None:
            parts.setdefault(source, set()).update(
                target for target in map(part, targets) if target not in (None, source))
    return parts


def test_no_module_imports_itself_around_a_circle():
    assert circles(import_graph()) == []


def test_no_package_has_parts_that_import_each_other_around_a_circle():
    graph = import_graph()
    packages = [""] + [name for name, file in project_modules().items()
                       if file.name == "__init__.py"]
    found = {package or "(top level)": circles(package_graph(graph, package))
             for package in packages}
    assert {package: groups for package, groups in found.items() if groups} == {}


def test_disentangle_never_imports_ray_or_the_layers_above_it():
    modules = project_modules()
    offending = {name: sorted(imported for imported in imported_names(name, file)
                              if imported.split(".")[0] in ABOVE_DISENTANGLE)
                 for name, file in modules.items() if name.split(".")[0] == "disentangle"}
    assert {name: found for name, found in offending.items() if found} == {}


def test_the_checks_see_a_circle_hidden_in_a_function(tmp_path):
    """The circle detector itself: two modules importing each other, one inside a function."""
    graph = {"study.a": {"study.b"}, "study.b": {"study.a"}, "study.c": {"study.a"}}
    assert circles(graph) == [["study.a", "study.b"]]
    file = tmp_path / "b.py"
    file.write_text("def f():\n    from . import a\n    from .c import g\n")
    assert imported_names("study.b", file) == {"study.a", "study.c.g"}
