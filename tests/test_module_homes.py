"""Every package of bayeslaws (found by walking bayeslaws/ for ``__init__.py``): a name imported
from a module (``from bayeslaws.<pkg>.<module> import name``, absolute or relative) is imported
from the module that defines it, not from one that merely imports it (a re-export of numpy or of
a sibling's name is a lean too); a module's private (underscore) name is not imported by another
module of the package; and every dotted reference ``bayeslaws.<pkg>.<module>.<name>`` (or
``bl.``...) in code, tests, docs and notebooks names the defining module. A monkeypatch target
given as a string may instead name a module that imports the name (where its caller looks it
up). Importing from a package (its ``__init__``, the public surface) is not checked. No
sampling: the package's, the tests' and the docs' text only."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bayeslaws"
SOURCES = ("bayeslaws", "tests", "benchmarks", "paper_repro", "data")
TEXTS = ("docs", "notebooks")
REFERENCE = re.compile(r"\b(?:bayeslaws|bl)((?:\.[A-Za-z_]\w*)+)")
PATCHERS = {"setattr", "delattr", "patch"}


def dotted(path: Path) -> str:
    """The dotted name of a file under the repository, e.g. "bayeslaws.runs.table"."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def packages() -> set[str]:
    """The dotted names of bayeslaws' packages (directories holding an ``__init__.py``)."""
    return {dotted(p) for p in PACKAGE.rglob("__init__.py")}


def top_level_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """A module's statements, with those inside top-level if / try / with / for blocks."""
    out = []
    for node in body:
        out.append(node)
        if not _scope(node):
            for field in ("body", "orelse", "finalbody"):
                out += top_level_statements(getattr(node, field, []))
            for handler in getattr(node, "handlers", []):
                out += top_level_statements(handler.body)
    return out


def _scope(node: ast.stmt) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)


def _targets(target: ast.expr) -> set[str]:
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, ast.Tuple | ast.List):
        return set().union(*(_targets(t) for t in target.elts))
    if isinstance(target, ast.Starred):
        return _targets(target.value)
    return set()


def defined_names(tree: ast.Module) -> set[str]:
    """The names a module defines at its top level (functions, classes, assignments); names it
    only imports are not among them."""
    names = set()
    for node in top_level_statements(tree.body):
        if _scope(node):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= set().union(*(_targets(t) for t in node.targets))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.For):
            names |= _targets(node.target)
        elif isinstance(node, ast.With):
            names |= {n for i in node.items if i.optional_vars for n in _targets(i.optional_vars)}
    return names


def imported_names(tree: ast.Module) -> set[str]:
    """The names a module binds at its top level by importing them."""
    return {
        (alias.asname or alias.name).split(".")[0]
        for node in top_level_statements(tree.body)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }


@cache
def modules() -> dict[str, tuple[set[str], set[str]]]:
    """Each bayeslaws module (not package) by dotted name: (defined names, imported names)."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        if path.stem != "__init__":
            tree = ast.parse(path.read_text(encoding="utf-8"))
            out[dotted(path)] = (defined_names(tree), imported_names(tree))
    return out


def python_files() -> list[Path]:
    return sorted(p for d in SOURCES for p in (ROOT / d).rglob("*.py") if p.is_file())


def text_files() -> list[Path]:
    found = [ROOT / "README.md"] + python_files()
    for d in TEXTS:
        found += [p for p in (ROOT / d).rglob("*") if p.suffix in (".md", ".rst", ".ipynb")]
    return [p for p in found if p.is_file() and ".ipynb_checkpoints" not in p.parts]


def imported_from(path: Path, node: ast.ImportFrom) -> str:
    """The dotted module an import reads from (relative imports resolved against ``path``)."""
    if not node.level:
        return node.module or ""
    package = dotted(path).split(".")
    if path.stem != "__init__":
        package = package[:-1]
    package = package[: len(package) - node.level + 1]
    return ".".join(package + ([node.module] if node.module else []))


@cache
def imports_from_bayeslaws() -> list[tuple[str, str, str]]:
    """(file, module or package read from, name) for every ``from bayeslaws... import name``."""
    out = []
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                source = imported_from(path, node)
                if source.split(".")[0] == "bayeslaws":
                    where = str(path.relative_to(ROOT))
                    out += [(where, source, alias.name) for alias in node.names]
    return out


def patch_targets(path: Path) -> set[str]:
    """The strings a Python file passes first to ``setattr`` / ``delattr`` / ``patch``
    (monkeypatch.setattr("bayeslaws.x.y.name", ...), mock.patch("...")): patch targets."""
    if path.suffix != ".py":
        return set()
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and node.args:
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            first = node.args[0]
            if name in PATCHERS and isinstance(first, ast.Constant):
                if isinstance(first.value, str):
                    found.add(first.value)
    return found


def reference_home(reference: str) -> tuple[str, str] | None:
    """(module, name) a dotted reference "bayeslaws.a.b.name..." reads from a module, None when
    it reads from a package (or names no bayeslaws module)."""
    parts = ["bayeslaws"] + reference.split(".")[1:]
    found = modules()
    for i in range(2, len(parts)):
        if ".".join(parts[:i]) in found:
            return ".".join(parts[:i]), parts[i]
    return None


def test_packages_are_found_by_walking_the_tree():
    """A new package is covered without editing this test: the walk finds the nested ones."""
    assert {"bayeslaws.runs", "bayeslaws.laws.hyperparams", "bayeslaws.app.replay"} <= packages()
    assert {"bayeslaws.runs.table", "bayeslaws.inference.batch.worker"} <= set(modules())


def test_every_name_is_imported_from_its_home_module():
    found = modules()
    astray = [
        f"{where}: {name} from {source}"
        for where, source, name in imports_from_bayeslaws()
        if source in found and name not in found[source][0]
    ]
    assert not astray, "names imported from a module that does not define them:\n" + "\n".join(
        astray
    )


def test_no_module_imports_another_modules_private_names():
    private = [
        f"{where}: {name} from {source}"
        for where, source, name in imports_from_bayeslaws()
        if name.startswith("_") and not name.startswith("__") and where.startswith("bayeslaws/")
    ]
    assert not private, "private names imported by another module:\n" + "\n".join(private)


def test_dotted_references_name_the_defining_module():
    found = modules()
    wrong = []
    for path in text_files():
        patched = patch_targets(path)
        for m in REFERENCE.finditer(path.read_text(encoding="utf-8")):
            if home := reference_home(m.group(0)):
                module, name = home
                defined, imported = found[module]
                allowed = defined | (imported if _is_patch(m.group(0), patched) else set())
                if name not in allowed:
                    wrong.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
    assert not wrong, "references to a module that does not define the name:\n" + "\n".join(wrong)


def _is_patch(reference: str, patched: set[str]) -> bool:
    return any(t == reference or t.startswith(reference + ".") for t in patched)
