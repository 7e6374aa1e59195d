"""The architecture, checked: layers import only downward, no import cycles, stages never ask a
law its name or probe its attributes, and the packaged module list matches the tree."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bayeslaws"
# top to bottom: a module may import its own layer and the layers above it in this list
LAYERS = ["runs", "laws", "inference", "posterior", "design", "plot", "app"]


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts).removesuffix(".__init__")
        out[name] = path
    return out


def layer(module: str) -> int | None:
    """The layer of a module (None for the package facade bayeslaws/__init__.py)."""
    parts = module.split(".")
    if len(parts) == 1:
        return None
    return LAYERS.index(parts[1])


def imports(module: str, path: Path, known) -> set[str]:
    """The bayeslaws modules ``module`` imports (at module level or inside functions)."""
    base = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")
                root = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{root}.{node.module}" if node.module else root
            else:
                target = node.module or ""
            candidates = [target] + [f"{target}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        found |= {c for c in candidates if c in known and c != module}
    return found


def graph():
    mods = modules()
    return {m: imports(m, p, mods) for m, p in mods.items()}


def test_every_module_belongs_to_a_layer():
    unplaced = [m for m in modules() if len(m.split(".")) > 1 and m.split(".")[1] not in LAYERS]
    assert not unplaced, f"modules outside the layers {LAYERS}: {unplaced}"


def test_layers_import_only_downward():
    upward = []
    for module, targets in graph().items():
        own = layer(module)
        if own is None:
            continue  # the facade re-exports every layer
        for target in targets:
            other = layer(target)
            if other is None:
                # bayeslaws itself: only ``from .. import __version__`` is allowed
                continue
            if other > own:
                upward.append(f"{module} -> {target}")
    assert not upward, "upward imports:\n" + "\n".join(sorted(upward))


def test_no_import_cycles():
    edges = graph()
    edges = {m: {t for t in ts if layer(t) is not None} for m, ts in edges.items() if layer(m)}
    edges = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in edges.items()}
    seen, stack, cycles = set(), [], []

    def visit(node, path):
        if node in path:
            cycles.append(path[path.index(node) :] + [node])
            return
        if node in seen:
            return
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            visit(nxt, path)
        path.pop()
        seen.add(node)

    for m in sorted(edges):
        visit(m, stack)
    assert not cycles, f"import cycles: {cycles[:3]}"


STAGE_PROBES = [
    re.compile(r"hasattr\((self\.)?(fit\.)?law\b"),
    re.compile(r"getattr\((self\.)?(fit\.)?law\b"),
    re.compile(r"\blaw\.name\s*(==|!=|in\b)"),
    re.compile(r"record\.law\s*(==|!=|in\b)"),
    re.compile(r"law_ref\([^)]*\)\s*(==|!=|in\b)\s*[\"']"),
]


def test_no_stage_asks_a_law_its_name_or_probes_it():
    offenders = []
    for module, path in modules().items():
        if module.startswith("bayeslaws.laws"):
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if any(p.search(line) for p in STAGE_PROBES):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{i}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_packaged_module_list_matches_the_tree():
    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    listed = set(pyproject["tool"]["setuptools"]["packages"]) - {"bayeslaws.bundled"}
    on_disk = {m for m, p in modules().items() if p.name == "__init__.py"}
    assert listed == on_disk


def test_bundled_tables_are_package_data():
    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    assert pyproject["tool"]["setuptools"]["package-dir"]["bayeslaws.bundled"] == "data"


@pytest.mark.parametrize("name", ["bayeslaws.runs", "bayeslaws.laws", "bayeslaws.inference"])
def test_lower_layers_do_not_load_upper_ones(name):
    """Importing a lower layer in a fresh interpreter loads nothing above it."""
    import subprocess
    import sys

    code = (
        f"import sys, importlib; importlib.import_module({name!r}); "
        "print(sorted({m.split('.')[1] for m in sys.modules if m.startswith('bayeslaws.')}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(ast.literal_eval(out.stdout.strip().splitlines()[-1]))
    own = LAYERS.index(name.split(".")[1])
    assert loaded <= set(LAYERS[: own + 1]) | {"bundled"}, loaded


def test_saved_programs_are_keyed_by_every_layer_a_sampled_program_can_run():
    """Traced NUTS programs are reused across source edits above the sampler's layer: the
    digest in their key must cover that layer and every one below it (which, by the test
    above, import nothing higher)."""
    from bayeslaws.inference.exported import TRACED_LAYERS

    assert list(TRACED_LAYERS) == LAYERS[: LAYERS.index("inference") + 1]
