"""Every warning the package raises points at the user's line.

The package locates each ``warnings.warn`` with :func:`bayeslaws.runs.warn.user_stacklevel`
(the first frame outside the package), never with a fixed ``stacklevel``: a fixed one is right
for one call path only (``bl.load_runs`` called directly) and names a package line on another
(the same load reached through ``bl.fit``: ``table.py``), or overshoots into the caller's caller.
"""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pandas as pd
import pytest

import bayeslaws as bl

PACKAGE = Path(bl.__file__).parent


def _warn_calls():
    """(path, line, the stacklevel argument's source or None) of every ``warnings.warn`` call."""
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "warn.py" and path.parent.name == "runs":
            continue  # the module that computes the stacklevel itself
        for node in ast.walk(ast.parse(path.read_text())):
            func = getattr(node, "func", None)
            if isinstance(node, ast.Call) and isinstance(func, ast.Attribute):
                if func.attr == "warn" and getattr(func.value, "id", None) == "warnings":
                    level = {k.arg: k.value for k in node.keywords}.get("stacklevel")
                    yield path, node.lineno, None if level is None else ast.unparse(level)


def test_every_package_warning_is_located_by_user_stacklevel():
    calls = list(_warn_calls())
    assert len(calls) > 50  # the scan sees the package's warnings
    fixed = [
        f"{path.relative_to(PACKAGE.parent)}:{line} stacklevel={level}"
        for path, line, level in calls
        if level != "user_stacklevel()"
    ]
    assert not fixed, "use stacklevel=user_stacklevel() (bayeslaws.runs.warn):\n" + "\n".join(
        fixed
    )


def test_no_package_function_takes_a_stacklevel():
    """Helpers that warn locate the user's line themselves; a ``stacklevel`` parameter invites
    callers to count frames again."""
    taking = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names = [a.arg for a in node.args.args + node.args.kwonlyargs]
                if "stacklevel" in names:
                    taking.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}")
    assert not taking, taking


def test_load_warning_through_fit_points_at_the_callers_line():
    """The duplicate-rows warning of the run table, reached through ``bl.fit`` (which stops at
    the unknown prior, after loading): it named ``bayeslaws/runs/table.py`` with the old fixed
    stacklevel."""
    runs = pd.DataFrame({"N": [1e7, 1e7, 3e7], "D": [2e8, 2e8, 6e8], "loss": [3.0, 3.0, 2.9]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="nope"):
            bl.fit(runs, priors={"nope": 1.0})
    places = {(w.filename, str(w.message)[:40]) for w in caught if "duplicates" in str(w.message)}
    assert places and {f for f, _ in places} == {__file__}, places
