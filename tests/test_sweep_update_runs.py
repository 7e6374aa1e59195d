"""``fit.update`` of the sweep laws' fits carries the new runs' ``diverged`` flags into the refit
and names the columns it leaves out; a fitted run passed again is refused (SIMULATED runs, the
session's tiny fits)."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.inference.update import combined_table
from bayeslaws.runs import simulate

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
