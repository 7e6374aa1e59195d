"""After the split of bayeslaws/runs/table.py into modules, every name is imported from the
module that defines it (no re-exports to lean on), a module's private (underscore) names are
not imported by another module, and every dotted reference ``bayeslaws.runs.<module>.<name>``
(docstrings, monkeypatch targets, warning filters, notebooks) names where it is defined. No
sampling: the package's, the tests' and the docs' text only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "bayeslaws" / "runs"
SOURCES = ("bayeslaws", "tests", "benchmarks", "paper_repro", "data")
TEXTS = ("docs", "notebooks")
REFERENCE = re.compile(r"\b(?:bayeslaws|bl)\.runs\.(\w+)\.(\w+)")


def defined_names(module: Path) -> set[str]:
    """The names a module defines at its top level (functions, classes, assignments)."""
    names = set()
    for node in ast.parse(module.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


HOMES = {path.stem: defined_names(path) for path in RUNS.glob("*.py") if path.stem != "__init__"}


def python_files() -> list[Path]:
    return sorted(p for d in SOURCES for p in (ROOT / d).rglob("*.py") if p.is_file())


def text_files() -> list[Path]:
    found = [ROOT / "README.md"] + python_files()
    for d in TEXTS:
        found += [p for p in (ROOT / d).rglob("*") if p.suffix in (".md", ".rst", ".ipynb")]
    return [p for p in found if p.is_file() and ".ipynb_checkpoints" not in p.parts]


def runs_module(path: Path, node: ast.ImportFrom) -> str | None:
    """The runs/ module (file stem) an import reads from, None for any other module (or for
    the ``bayeslaws.runs`` package itself, whose ``__init__`` exports names)."""
    if node.level:
        package = path.relative_to(ROOT).with_suffix("").parts[: -node.level]
        dotted = ".".join(package + ((node.module,) if node.module else ()))
    else:
        dotted = node.module or ""
    parts = dotted.split(".")
    if len(parts) == 3 and parts[:2] == ["bayeslaws", "runs"]:
        return parts[2]
    return None


def imports_from_runs_modules() -> list[tuple[str, str, str]]:
    """(file, runs module, name) for every ``from <a runs module> import name``."""
    out = []
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (module := runs_module(path, node)):
                where = str(path.relative_to(ROOT))
                out += [(where, module, alias.name) for alias in node.names]
    return out


def test_every_runs_name_is_imported_from_its_home_module():
    astray = [
        f"{where}: {name} from runs.{module}"
        for where, module, name in imports_from_runs_modules()
        if module in HOMES and name not in HOMES[module]
    ]
    assert not astray, "names imported from a module that does not define them:\n" + "\n".join(
        astray
    )


def test_no_module_imports_another_runs_modules_private_names():
    private = [
        f"{where}: {name} from runs.{module}"
        for where, module, name in imports_from_runs_modules()
        if name.startswith("_") and where.startswith("bayeslaws/")
    ]
    assert not private, "private names imported by another module:\n" + "\n".join(private)


def test_dotted_references_name_the_defining_module():
    wrong = [
        f"{path.relative_to(ROOT)}: {m.group(0)}"
        for path in text_files()
        for m in REFERENCE.finditer(path.read_text(encoding="utf-8"))
        if m.group(1) in HOMES and m.group(2) not in HOMES[m.group(1)]
    ]
    assert not wrong, "references to a module that does not define the name:\n" + "\n".join(wrong)
