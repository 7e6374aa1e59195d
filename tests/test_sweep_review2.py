"""Review fixes (SIMULATED runs): ``fit.update`` carries the new runs' ``diverged`` flags into
the refit (they had been dropped, so flagged runs were fitted as converged) and names the
columns it leaves out; ``predict`` / ``loss_penalty`` report how far a setting (lr,
batch_size) lies outside the swept range; law 'sweep' records one exclusion per reason."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.inference.update import combined_table
from bayeslaws.laws import sweep
from bayeslaws.laws.hyperparams.data import DivergenceWarning
from bayeslaws.runs import PlausibilityWarning, simulate

FLAGGED = [2, 7]  # rows of the new cell's runs flagged diverged by the user


def new_cell_runs():
    """A SIMULATED 3 x 3 LR x batch sweep at a cell the fixtures' sweep lacks (57M params, 8B
    tokens), rows ``FLAGGED`` flagged ``diverged`` (finite losses: only the flag says so)."""
    df = simulate.simulate_grid(
        simulate.VideoDiTTruth(),
        N=[0.057e9],
        D=[8e9],
        lr_values=[1e-4, 1.9e-4, 3.6e-4],
        batch_values=[5e4, 1e5, 2e5],
        seed=3,
    )
    df["diverged"] = False
    df.loc[FLAGGED, "diverged"] = True
    return df


def prepared_update(fit, new):
    """(The table an update of ``fit`` with ``new`` refits, the law's ``prepare`` of it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        combined = combined_table(fit, new)
        return combined, fit.law.prepare(combined.runs)


@pytest.mark.parametrize("as_table", [True, False], ids=["RunTable", "DataFrame"])
def test_an_update_of_a_sweep_fit_keeps_the_new_runs_diverged_flags(
    small_sweep_sweep_fit, as_table
):
    """The combined table kept only the old table's columns: the 2 flagged runs of the new
    cell were fitted as converged (all 9 in the bowls)."""
    fit = small_sweep_sweep_fit
    new = new_cell_runs()
    combined, prepared = prepared_update(fit, bl.load_runs(new) if as_table else new)
    df = combined.runs.df
    assert "diverged" in df
    labels = [combined.renamed[r] for r in FLAGGED]
    assert df["diverged"].sum() == 2 and df.loc[labels, "diverged"].all()
    assert not df["diverged"].iloc[: len(df) - len(new)].any()  # the fit's runs: not flagged
    fitted = prepared.runs.df
    in_cell = (fitted["N"] == 0.057e9) & (fitted["D"] == 8e9)
    assert in_cell.sum() == len(new) - 2
    assert not fitted.index.isin(labels).any()
    flagged = [e for e in prepared.runs.exclusions if "flagged in column 'diverged'" in e.reason]
    assert [sorted(e.rows) for e in flagged] == [sorted(labels)]


def test_an_update_of_a_hyperparams_fit_reads_the_new_runs_diverged_flags(small_sweep_hp_fit):
    """Law 'hyperparams' reads the same column (censored by default): 2 more diverged runs."""
    fit = small_sweep_hp_fit
    before = fit.record.law_state["divergence"]["n_diverged"]
    _, prepared = prepared_update(fit, new_cell_runs())
    assert prepared.state["divergence"]["n_diverged"] == before + 2


def test_an_update_names_the_new_runs_columns_it_leaves_out(small_sweep_sweep_fit, simulated_fit):
    """A run-table column of the new runs that the fit does not keep (an lr for a Chinchilla
    fit) is named, not dropped silently; a sweep fit carries the ``diverged`` and ``run``
    columns; columns no law reads (a source, the user's notes) pass as in a fit."""
    new = new_cell_runs().assign(run=[f"seed{k}" for k in range(9)], node="gpu-7")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # nothing to name: source, node pass
        combined = combined_table(small_sweep_sweep_fit, new)
    df = combined.runs.df
    assert "node" not in df and {"diverged", "run"} <= set(df)
    assert df["run"].iloc[-9:].tolist() == [f"seed{k}" for k in range(9)]
    assert df["run"].iloc[:-9].isna().all()  # the fit's runs: unknown
    runs = pd.DataFrame({"N": [7e9], "D": [1.4e11], "loss": [2.0], "lr": [3e-4], "note": ["x"]})
    with pytest.warns(UserWarning, match=r"new_runs column\(s\) \['lr'\] are not carried"):
        combined_table(simulated_fit, runs)


def test_a_run_passed_again_with_a_run_column_is_still_refused(small_sweep, small_sweep_sweep_fit):
    """A `run` column only the new runs have is not part of the repeat check (the fit's runs
    have none): a fitted run passed again, labelled, is refused as before."""
    again = small_sweep.df.iloc[[0]].drop(columns="source").assign(run="seed0")
    with pytest.raises(ValueError, match=r"new_runs repeat 1 run\(s\) this fit already has"):
        combined_table(small_sweep_sweep_fit, again)


@pytest.mark.parametrize("fixture", ["small_sweep_sweep_fit", "small_sweep_hp_fit"])
def test_predict_and_loss_penalty_say_how_far_a_setting_is_outside_the_sweep(fixture, request):
    """lr 35x above the largest swept lr came back as a confident penalty with no flag: the
    setting's distance outside the fitted range is a column, as N's and D's are (0 inside)."""
    fit = request.getfixturevalue(fixture)
    lr_low, lr_high = fit.record.ranges["lr"]
    b_low, b_high = fit.record.ranges["batch_size"]
    lr = [np.sqrt(lr_low * lr_high), 35 * lr_high]
    batch = [np.sqrt(b_low * b_high), 20 * b_high]
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlausibilityWarning)  # within 2 decades: no warning
        table = bl.predict(fit, N=0.057e9, D=5e9, lr=lr, batch_size=batch, extrapolation="none")
        penalty = bl.loss_penalty(fit, 0.057e9, 5e9, lr, batch, kind="mean")
    for out in (table, penalty):
        assert out["lr_outside_decades"].tolist() == pytest.approx([0.0, np.log10(35)])
        assert out["batch_size_outside_decades"].tolist() == pytest.approx([0.0, np.log10(20)])
        assert out["N_outside_decades"].tolist() == [0.0, 0.0]
    with pytest.warns(PlausibilityWarning, match=r"lr = .* decades outside the fitted range"):
        bl.predict(fit, N=0.057e9, D=5e9, lr=300 * lr_high, batch_size=b_high)  # 100x: warned


def damaged_sweep_runs(small_sweep):
    """``small_sweep`` (36 runs per cell) with one run of each excluded kind: a NaN loss, a
    loss of 1e6, one flagged ``diverged``, one 1.6x its loss (beyond its cell's fence); the
    rows, by kind."""
    df = small_sweep.df.drop(columns="source").copy()
    rows = {"nan": df.index[3], "huge": df.index[80], "flagged": df.index[200]}
    rows["fenced"] = df.index[120]
    df.loc[rows["nan"], "loss"] = np.nan
    df.loc[rows["huge"], "loss"] = 1e6
    df.loc[rows["fenced"], "loss"] *= 1.6
    df["diverged"] = df.index == rows["flagged"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlausibilityWarning)  # the 1e6 loss: told at load
        return bl.load_runs(df, allow_missing_loss=True), rows


def test_the_sweep_law_records_one_exclusion_per_reason(small_sweep):
    """One exclusion had named every reason and every row together; now each reason has its
    own rows; the runs excluded are as before, and the warning and the note name each reason's
    rows (what the rows count said once)."""
    runs, rows = damaged_sweep_runs(small_sweep)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prepared = sweep.LAW.prepare(runs)
    entries = [(e.reason, list(e.rows)) for e in prepared.runs.exclusions]
    assert [r for _, r in entries] == [[rows[k]] for k in ("nan", "huge", "flagged", "fenced")]
    words = [
        "missing (NaN) or +inf loss", "x the median loss", "flagged in column 'diverged'", "fence"
    ]
    for (reason, _), word in zip(entries, words, strict=True):
        assert reason.startswith("not in the bowls: 1 ") and word in reason
        assert reason.endswith("(law 'sweep')")
    mask, reasons = sweep.LAW.excluded_mask(runs.df)
    assert sorted(runs.df.index[mask]) == sorted(rows.values())
    kinds = ("nan", "huge", "flagged", "fenced")
    clauses = [f"{r} at rows {rows[k]}" for r, k in zip(reasons, kinds, strict=True)]
    clauses[0] += f" ({runs.row_note})"
    note = f"4 of {len(runs)} runs excluded from the bowls: {'; '.join(clauses)}"
    assert prepared.notes == (note,)
    told = [str(w.message) for w in caught if issubclass(w.category, DivergenceWarning)]
    assert told == [note]
