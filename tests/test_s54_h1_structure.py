"""Structure leftovers: the atomic file writer lives below JAX (bayeslaws.runs.atomic), a
campaign names the proposed runs it did not record by their design points (not as "rows"), and
sweep_joint's yin_optima summarises exponents and optima by one route (interval_row)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import repo_script

from bayeslaws.design import campaign
from bayeslaws.design.campaign import RecordWarning


def test_the_atomic_writer_imports_without_jax(tmp_path):
    """Reports, tables and figures are written by write_atomically; importing it (as the
    plot and app layers do) must not pull in JAX, which the traced-program module needs."""
    code = (
        "import sys\n"
        "from bayeslaws.runs.atomic import write_atomically\n"
        f"write_atomically({str(tmp_path / 'out.txt')!r}, 'text')\n"
        "print(sorted(m for m in sys.modules if m == 'jax' or m.startswith('jax.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert (tmp_path / "out.txt").read_text() == "text"


def _unrecorded_message(proposal: pd.DataFrame) -> str:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        campaign._warn_unrecorded(proposal, proposal.iloc[:0], 0)
    (message,) = [str(w.message) for w in caught if issubclass(w.category, RecordWarning)]
    return message


def test_unrecorded_sweep_runs_are_told_apart_by_their_settings():
    """Two runs of one unit's LR sweep share N and D: named by N and D alone they read as one
    run listed twice; their lr tells them apart."""
    proposal = pd.DataFrame({"N": [1e8, 1e8], "D": [2e9, 2e9], "lr": [1e-3, 4e-3]})
    message = _unrecorded_message(proposal)
    assert "(N 1e+08, D 2e+09, lr 0.001), (N 1e+08, D 2e+09, lr 0.004)" in message


def test_many_unrecorded_runs_are_counted_as_runs_not_rows():
    n = 13
    proposal = pd.DataFrame({"N": np.geomspace(1e8, 1e9, n), "D": 2e9})
    message = _unrecorded_message(proposal)
    assert f", ... and {n - 10} more runs (matched within" in message
    assert "rows" not in message


@pytest.fixture(scope="module")
def sweep_joint():
    return repo_script("benchmarks/sweep_joint.py", "bench_sweep_joint_s54_h1")


def test_interval_row_gives_the_central_interval_its_spread_and_coverage(sweep_joint):
    draws = np.random.default_rng(5).normal(0.2, 0.05, 2001)
    row = sweep_joint.interval_row("lr_N", draws, {"sd": draws.std()}, truth=0.3)
    lo, med, hi = np.quantile(draws, [0.05, 0.5, 0.95])
    assert list(row) == [
        "lr_N_median", "lr_N_lower", "lr_N_upper", "lr_N_sd", "lr_N_truth", "lr_N_covered"
    ]  # the column order sweep_yin_optima.csv has
    assert (row["lr_N_lower"], row["lr_N_median"], row["lr_N_upper"]) == pytest.approx(
        (lo, med, hi), rel=1e-12
    )
    assert row["lr_N_sd"] == draws.std() and row["lr_N_truth"] == 0.3
    assert row["lr_N_covered"] is bool(lo <= 0.3 <= hi)
    assert sweep_joint.interval_row("x", draws, {}, truth=0.2)["x_covered"] is True
