"""The benchmark scripts' command lines: argument parsing, --help text, demo_timing's header.

Every benchmark script parses its arguments before it runs, so ``--help`` prints usage instead
of running the benchmark and overwriting its committed output (gp_inrange.py and
calibration_rescore.py did); --help gives the docstring's first paragraph, not its first line;
demo_timing's header line says the demo runs on the SIMULATED bundled sweep. Mostly static: only
calibration.py's --help and demo_timing.py (a stand-in demo) are run.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from conftest import REPO, repo_script

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


OUT = REPO / "benchmarks" / "output"


# ---- 6: --help gives the first paragraph ----
def benchmark_scripts():
    return sorted(p for p in (REPO / "benchmarks").glob("*.py") if "__doc__" in p.read_text())


@pytest.mark.parametrize("path", benchmark_scripts(), ids=lambda p: p.name)
def test_no_script_cuts_its_description_at_the_first_line(path):
    source = path.read_text()
    assert not re.search(r"__doc__\.(split\(\"\\n\"\)|splitlines\(\))\[0\]", source)


def test_help_ends_at_the_first_paragraph(capsys):
    calibration = repo_script("benchmarks/calibration.py", "bench_calibration_review11_help")
    with pytest.raises(SystemExit):
        calibration.main(["--help"])
    shown = " ".join(capsys.readouterr().out.split())
    doc = ast.get_docstring(ast.parse((REPO / "benchmarks/calibration.py").read_text()))
    first = " ".join(doc.split("\n\n")[0].split())
    assert first in shown and first.endswith(".")


# ---- 8: demo_timing says the demo's data are simulated ----
def test_demo_timing_header_says_simulated(tmp_path, monkeypatch):
    timing = repo_script("benchmarks/demo_timing.py", "bench_demo_timing_review11")
    monkeypatch.setattr(timing, "run_demo", lambda cache, out: (1.0, 1000, 0))
    assert timing.main(["--out", str(tmp_path / "t.txt")]) == 0
    header = (tmp_path / "t.txt").read_text().splitlines()[0]
    assert header.startswith("# python benchmarks/demo_timing.py (SIMULATED bundled sweep); ")
    committed = (OUT / "demo_timing.txt").read_text().splitlines()[0]
    assert committed.split(";")[0] == header.split(";")[0]
