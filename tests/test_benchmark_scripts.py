"""Every benchmark script parses its arguments before it runs, so ``--help`` prints usage
instead of running the benchmark and overwriting its committed output (gp_inrange.py and
calibration_rescore.py did). Static: no script is run."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p for p in BENCHMARKS.glob("*.py") if "__main__" in p.read_text())


def _calls(tree: ast.AST) -> set[str]:
    """Names of the attributes and functions called anywhere in ``tree``."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            out.add(f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""))
    return out


def test_there_are_benchmark_scripts():
    assert len(SCRIPTS) > 10


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_a_benchmark_script_parses_its_arguments(script):
    calls = _calls(ast.parse(script.read_text()))
    assert "ArgumentParser" in calls and {"parse_args", "parse_known_args"} & calls, (
        f"{script.name} runs without an argument parser: --help would run it"
    )
