"""The README as a newcomer uses it: the names it shows resolve after ``import bayeslaws as bl``,
and its five-minute tour runs as written (slow: it fits the joint sweep model)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def python_block_after(heading: str) -> str:
    """The first ```python block after the line ``heading`` in the README."""
    start = README.index(heading)
    block = README.index("```python\n", start) + len("```python\n")
    return README[block : README.index("```", block)]


def test_readme_names_resolve_from_a_bare_import():
    """Every ``bl.X.Y`` the README shows (outside the migration table, whose left column names
    the old places) resolves after ``import bayeslaws as bl`` in a fresh process, where no other
    test has imported a submodule first; so do the package's public names, and every dotted
    ``bayeslaws.a.b`` path it shows, after importing its longest module prefix."""
    migration = README.index("### Migration from 0.1")
    after = README.index("\n## ", migration)
    body = README[:migration] + README[after:]
    names = sorted(set(re.findall(r"\bbl((?:\.[A-Za-z_]\w*)+)", body)))
    paths = sorted(set(re.findall(r"\bbayeslaws((?:\.[A-Za-z_]\w*)+)", body)))
    assert len(names) > 20 and len(paths) > 5, (names, paths)
    script = (
        "import importlib, json, sys\nimport bayeslaws as bl\nbad = []\n"
        "names, paths = json.loads(sys.argv[1])\n"
        "for name in names + ['.' + n for n in bl.__all__]:\n"
        "    obj = bl\n"
        "    try:\n"
        "        for part in name.strip('.').split('.'):\n"
        "            obj = getattr(obj, part)\n"
        "    except AttributeError as err:\n"
        "        bad.append(f'bl{name}: {err}')\n"
        "for path in paths:\n"
        "    parts = ('bayeslaws' + path).split('.')\n"
        "    for cut in range(len(parts), 0, -1):\n"
        "        try:\n"
        "            obj = importlib.import_module('.'.join(parts[:cut]))\n"
        "            break\n"
        "        except ModuleNotFoundError:\n"
        "            continue\n"
        "    try:\n"
        "        for part in parts[cut:]:\n"
        "            obj = getattr(obj, part)\n"
        "    except AttributeError as err:\n"
        "        bad.append(f'bayeslaws{path}: {err}')\n"
        "print(json.dumps(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps([names, paths])], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


@pytest.mark.slow
def test_the_tour_runs_as_written(tmp_path):
    """The README's five-minute tour, copied as a newcomer would, runs to the end in a fresh
    process (it writes fit.nc into its working folder, here a temporary one)."""
    code = python_block_after("## Five-minute tour")
    assert "bl.fit(runs" in code and "bl.design.next_runs" in code
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=1200
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "fit.nc").exists()


def test_moved_demo_names_still_resolve_with_a_warning():
    """``bl.demo.X`` for the names that moved to plan / plan_report in 0.2.1 resolves to the
    same object with a FutureWarning naming the new place; unknown names still fail."""
    import bayeslaws as bl
    from bayeslaws.app import plan, plan_report

    with pytest.warns(FutureWarning, match="moved to bayeslaws.app.plan_report.comparison_table"):
        assert bl.demo.comparison_table is plan_report.comparison_table
    with pytest.warns(FutureWarning, match="moved to bayeslaws.app.plan.truth_size_change"):
        assert bl.demo.truth_size_change is plan.truth_size_change
    for name, module in (("planning", plan), ("build_report", plan_report)):  # demo uses both
        with pytest.warns(FutureWarning, match=f"moved to {module.__name__}.{name}"):
            assert getattr(bl.demo, name) is getattr(module, name)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        bl.demo.nothing  # noqa: B018
