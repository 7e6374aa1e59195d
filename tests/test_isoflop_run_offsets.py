"""The isoFLOP law's detrended run offsets when the detrending leaves nothing (or little) to absorb:
3 runs drop the offsets with a warning and a note, few remaining degrees of freedom are noted
(SIMULATED Liang et al. runs, one tiny fit)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.laws.isoflop import LAW as ISOFLOP
from bayeslaws.runs import PlausibilityWarning, as_run_table, simulate


# ---- F1: detrended isoFLOP run offsets -------------------------------------------------------
@pytest.fixture(scope="module")
def liang():
    return simulate.simulate_liang_isoflop(seed=1, n_per_budget=7)


def with_runs(runs, n_labels: int):
    """The run table with ``n_labels`` run labels, assigned in turn (distinct mean sizes);
    the simulated table's own plausibility warning (one run's D/N) is not the subject here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlausibilityWarning)
        return as_run_table(runs.assign(run=[f"r{i % n_labels}" for i in range(len(runs))]))


def test_three_runs_drop_the_detrended_offsets_with_a_warning_and_a_note(liang):
    """With 3 runs the 1, x, x^2 detrending leaves every offset at 0 and run_sd at its prior:
    the offsets are not fitted, and the user is told (warning and the fit's note)."""
    table = with_runs(liang, 3)
    with pytest.warns(PlausibilityWarning, match="per-run offsets dropped") as caught:
        prepared = ISOFLOP.prepare(table)
    assert [w.filename for w in caught] == [__file__]  # one warning, at the user's line
    assert np.asarray(prepared.data["run_ids"]).shape == (0,)
    assert prepared.state["n_run_ids"] == 0 and prepared.state["run_offsets"] is None
    assert len(prepared.notes) == 1 and "3 runs (column 'run')" in prepared.notes[0]
    assert "'free'" in prepared.notes[0]


def test_few_remaining_degrees_of_freedom_are_noted_and_enough_are_not(liang):
    """5 runs keep 5 - 3 = 2 degrees of freedom (fewer than RUN_OFFSET_MIN_DOF): fitted, with
    a note naming how many; 9 runs keep 6: no note; free offsets: no note."""
    from bayeslaws.laws.isoflop import RUN_OFFSET_MIN_DOF

    tables = {n: with_runs(liang, n) for n in (3, 5, 9)}
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlausibilityWarning)
        few = ISOFLOP.prepare(tables[5])
        many = ISOFLOP.prepare(tables[9])
        free = ISOFLOP.configure(run_offsets="free").prepare(tables[3])
    dof = int(round(np.trace(np.asarray(few.data["run_proj"]))))
    assert dof == 2 < RUN_OFFSET_MIN_DOF
    assert np.asarray(few.data["run_ids"]).shape == (5,)
    assert len(few.notes) == 1 and f"keep {dof} degrees of freedom" in few.notes[0]
    assert many.notes == () and free.notes == ()
    assert np.asarray(free.data["run_ids"]).shape == (3,)


def test_a_fit_with_three_runs_neither_samples_nor_reports_run_sd(liang):
    runs = with_runs(liang, 3)
    with pytest.warns(PlausibilityWarning, match="per-run offsets dropped"):
        fit = bl.fit(
            runs, law="isoflop", likelihood="gaussian", seed=0, chains=1, warmup=150,
            draws=150, dense_mass=False, warn=False, progress_bar=False,
        )  # fmt: skip
    assert "run_sd" not in fit.summary().index
    assert any("per-run offsets dropped" in note for note in fit.record.notes)
