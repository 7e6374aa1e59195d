"""Runs given to an updated fit are matched to the runs the update added by their values
(SIMULATED runs, tiny fits)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import TRUTH, chinchilla_design

import bayeslaws as bl
from bayeslaws.posterior import extrapolation as ex
from bayeslaws.posterior.extrapolation import stacking
from bayeslaws.runs import simulate

TINY = {"chains": 1, "warmup": 100, "draws": 100}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """16 SIMULATED Chinchilla runs (4 sizes x 4 token counts), labels 0-15."""
    N, D = chinchilla_design(4, 4)
    return simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=1)


@pytest.fixture(scope="module")
def updated(table):
    """A fit of the 12 smaller-budget runs (the 4 largest held out by exclusion), updated with
    those 4: the update labels them past every earlier label (here 26-31)."""
    runs = bl.load_runs(table)
    top = runs.df["C"] >= np.sort(runs.df["C"].to_numpy())[-4]
    fit = bl.fit(runs.exclude(top, "held out"), likelihood="gaussian", seed=0, warn=False, **TINY)
    fit2 = fit.update(runs.subset(top, "new"), warn=False, warmup=100, draws=100)
    assert not set(fit2.training_runs().df.index[-4:]) & set(table.index)  # labels renumbered
    return fit2


def test_an_updated_fit_accepts_the_table_it_was_fitted_to(table, updated):
    """prepare(fit2, "gp", the whole table) raised "runs lack 4 of the fit's 16 training runs
    (row labels 16, ...); pass the table the fit was fitted to": the runs the update added are
    now matched by their values, and the fit's own runs are used, with no unused-runs warning."""
    own = updated.training_runs().df
    with warnings.catch_warnings():
        warnings.simplefilter("error", stacking.UnusedRunsWarning)
        used = stacking.runs_for(updated, table.iloc[::-1], "test")
        ex.prepare(updated, "gp", table)
    assert used.df.equals(own)
    assert updated.cache["gp"] is not None


def test_a_table_lacking_an_added_run_still_raises_naming_it(table, updated):
    """A table missing one of the runs the update added is refused, the run named by label and
    values, and the error no longer tells the user to pass the table they passed."""
    own = updated.training_runs().df
    label = own.index[-1]
    same = np.isclose(table["N"], own.at[label, "N"]) & np.isclose(table["D"], own.at[label, "D"])
    gone = table[~same]
    assert len(gone) == len(table) - 1
    lacks = rf"runs lack 1 of the fit's 16 .*row {label}\b.*N="
    with pytest.raises(ValueError, match=lacks) as e:
        ex.prepare(updated, "gp", gone)
    assert "pass the table the fit was fitted to" not in str(e.value)
    assert "added" in str(e.value)


def test_a_table_with_another_run_warns_of_that_run_only(table, updated):
    """A row that is none of the fit's runs is the only one the unused-runs warning names."""
    extra = table.iloc[[0]].assign(loss=table["loss"].iloc[0] * 1.5).set_axis(["x"], axis=0)
    named = r"1 of the 17 runs given \(row labels 'x'\)"
    with pytest.warns(stacking.UnusedRunsWarning, match=named):
        stacking.runs_for(updated, pd.concat([table, extra]), "test")
