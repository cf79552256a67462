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
        if path.name != "settings.py" and ("os.environ" in source or "os.getenv" in source):
            offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []


def test_no_module_is_too_long() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n for p in _modules() if (n := len(p.read_text().splitlines())) > 600
    }
    assert long == {}
