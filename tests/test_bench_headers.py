"""Every benchmark text output starts with the commit that produced it (review finding F2).

benchmarks/bench_provenance.py's ``header(script, argv)`` gives ``# python <script> <args>;
<date> UTC; commit <sha>[+changes]``; each script that writes a .txt file must build its first
line with it (or with ``commit()``). The scripts are read, not run; the one behavioural test
calls ``header`` itself. Nothing is sampled.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess

import pytest
from conftest import REPO, repo_script

BENCH = REPO / "benchmarks"

# the scripts that write a .txt output (found by reading each one's write_text calls)
TXT_WRITERS = (
    "calibration_rescore.py",
    "chunk_ab.py",
    "dask_overhead.py",
    "demo_timing.py",
    "design_replay.py",
    "design_reweighted_draws.py",
    "design_sweep_estimators.py",
    "diagnostics_thresholds.py",
    "drift_nopt.py",
    "faults.py",
    "gp_inrange.py",
    "gp_noise_collapse.py",
    "grouped_sampling.py",
    "identifiability_range.py",
    "isoflop_new_budget.py",
    "make_readme_figure.py",
    "marin_nopt_offset.py",
    "memory_regions.py",
    "prior_predictive.py",
    "report_screenshots.py",
    "screening_study.py",
    "speed.py",
    "sweep_small_cell_fence.py",
    "sweep_target_accept.py",
    "vertex_bootstrap_coverage.py",
    "xla_threads.py",
    "yin_part3_posterior.py",
)
# .txt writers still without the header, each for a reason outside this fix
PENDING = {
    "choose_default.py": "tests/test_calibration_unscored.py compares calibration_choice.txt "
    "byte for byte with the committed file",
    "yin_grid_bowl.py": "tests/test_data_video_dit_bowl_notes.py compares yin_grid_bowl.txt "
    "byte for byte with the committed file",
    "sweep_joint.py": "its *_summary.txt files: the script is under another fix",
}
OTHER_WRITERS = {"learn_drift.py": "writes JSON (learn_drift_population.json), not text"}


def provenance_calls(source: str) -> set[str]:
    """Names imported from bench_provenance (header/commit) that the source also calls."""
    tree = ast.parse(source)
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "bench_provenance"
        for alias in node.names
        if alias.name in ("header", "commit")
    }
    called = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    return imported & called


def _cases():
    yield from TXT_WRITERS
    for name, why in PENDING.items():
        yield pytest.param(name, marks=pytest.mark.xfail(reason=why, strict=True))


@pytest.mark.parametrize("name", list(_cases()))
def test_txt_writer_builds_its_first_line_with_bench_provenance(name):
    calls = provenance_calls((BENCH / name).read_text())
    assert calls, f"benchmarks/{name} writes a .txt output without bench_provenance.header/commit"


def test_the_list_holds_every_script_that_writes_a_file_with_write_text():
    """A new script that writes text must join TXT_WRITERS (or PENDING, with its reason)."""
    writers = {p.name for p in BENCH.glob("*.py") if ".write_text(" in p.read_text()}
    listed = set(TXT_WRITERS) | set(PENDING) | set(OTHER_WRITERS)
    assert writers <= listed, f"not listed: {sorted(writers - listed)}"
    assert set(TXT_WRITERS) <= writers, f"listed but no write_text: {set(TXT_WRITERS) - writers}"


def _git_head() -> str:
    if shutil.which("git") is None:
        pytest.skip("git is not installed: no commit to compare")
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    )
    if done.returncode != 0 or not done.stdout.strip():
        pytest.skip(f"not a git checkout here: {done.stderr.strip()}")
    return done.stdout.strip()


def test_header_records_the_checkout_commit_the_arguments_and_the_details():
    head = _git_head()
    provenance = repo_script("benchmarks/bench_provenance.py", "bench_provenance_f2")
    line = provenance.header("benchmarks/speed.py", ["--only", "cache"], ["4 cores", "JAX x"])
    match = re.fullmatch(
        r"# python benchmarks/speed\.py --only cache; \d{4}-\d\d-\d\d \d\d:\d\d UTC; "
        r"commit (\S+); 4 cores; JAX x",
        line,
    )
    assert match, line
    assert match.group(1).removesuffix("+changes") == head
    assert provenance.header("benchmarks/x.py", []).endswith(f"commit {provenance.commit()}")
