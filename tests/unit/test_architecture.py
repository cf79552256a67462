"""Rules of the design that import-linter cannot express."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "omnivec"


def _modules() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py"]


def test_nothing_imports_the_package_root() -> None:
    offenders = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "omnivec" and node.level == 0:
                names = {a.name for a in node.names}
                # Importing a submodule by name (from omnivec import logging) is not the root API.
                if not all((PACKAGE / f"{n}.py").exists() or (PACKAGE / n).is_dir() for n in names):
                    offenders.append(str(path.relative_to(PACKAGE)))
            if isinstance(node, ast.Import) and any(a.name == "omnivec" for a in node.names):
                offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []


def test_environment_is_read_only_in_settings() -> None:
    offenders = []
    for path in _modules():
        source = path.read_text()
        in_settings = path.relative_to(PACKAGE).parts[0] == "settings"
        if not in_settings and ("os.environ" in source or "os.getenv" in source):
            offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []


def test_no_module_is_too_long() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n for p in _modules() if (n := len(p.read_text().splitlines())) > 600
    }
    assert long == {}


def test_the_module_graph_has_no_cycles() -> None:
    """Layers keep imports between packages one-way; this keeps them acyclic inside one too."""
    import grimp

    graph = grimp.build_graph("omnivec")
    imports = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    # Tarjan's strongly connected components, iteratively: any component of two or more
    # modules is an import cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(imports):
        if root in index:
            continue
        work = [(root, iter(sorted(imports[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(imports.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    assert cycles == []
