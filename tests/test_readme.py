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
    test has imported a submodule first; the package's public names resolve too."""
    readme = README
    migration = readme.index("### Migration from 0.1")
    after = readme.index("\n## ", migration)
    body = readme[:migration] + readme[after:]
    names = sorted(set(re.findall(r"\bbl((?:\.[A-Za-z_]\w*)+)", body)))
    assert len(names) > 20, names
    script = (
        "import json, sys\nimport bayeslaws as bl\nbad = []\n"
        "for name in json.loads(sys.argv[1]) + ['.' + n for n in bl.__all__]:\n"
        "    obj = bl\n"
        "    try:\n"
        "        for part in name.strip('.').split('.'):\n"
        "            obj = getattr(obj, part)\n"
        "    except AttributeError as err:\n"
        "        bad.append(f'bl{name}: {err}')\n"
        "print(json.dumps(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps(names)], capture_output=True, text=True
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
