"""``fit.update`` under a law that fits every run as a converged one (chinchilla) refuses new
runs with no finite loss or flagged as diverged, naming them by their row labels in
``new_runs`` and counting the new runs only: the law's own refusal named the rows of the
combined table ("1 of 23 runs (rows 21)"), which the user does not have (SIMULATED runs)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.runs import RunTableError, simulate

TRUTH = {"E": 1.8, "A": 400.0, "B": 1200.0, "alpha": 0.34, "beta": 0.30}
BOTH_FORMS = r"\(Python: .*; command line: .*--exclude-rows ROWS --exclude-reason TEXT\)"


@pytest.fixture(scope="module")
def fit20():
    """A tiny chinchilla fit of 20 SIMULATED runs (rows 0-19)."""
    N, D = np.meshgrid(np.geomspace(2e7, 2e9, 5), np.geomspace(4e8, 4e10, 4))
    params = {**TRUTH, "N": N.ravel(), "D": D.ravel()}
    runs = simulate.simulate_chinchilla_runs(params, noise_sd=0.01, seed=1)
    options = {"chains": 1, "warmup": 100, "draws": 100, "likelihood": "gaussian"}
    return bl.fit(runs, seed=0, warn=False, **options)


def new_runs(loss, **columns) -> pd.DataFrame:
    """Three new runs labelled 40, 41, 42 in new_runs."""
    frame = {"N": [3e9, 4e9, 1e9], "D": [6e10, 8e10, 2e10], "loss": loss, **columns}
    return pd.DataFrame(frame, index=[40, 41, 42])


def refusal(fit, runs) -> str:
    with pytest.raises(RunTableError) as caught:
        fit.update(runs, warn=False)
    return str(caught.value)


def test_a_missing_loss_is_named_by_its_row_in_new_runs(fit20):
    message = refusal(fit20, new_runs([2.0, np.nan, 2.1]))
    assert "law 'chinchilla' needs a finite loss for every run" in message
    assert "column 'loss' is missing in 1 of 3 new runs, at rows 41 (row labels of new_runs)" in (
        message
    )
    assert "of 23 runs" not in message and "rows 21" not in message
    assert "new_runs.drop(index=[41])" in message
    assert re.search(BOTH_FORMS, message)


def test_a_diverged_flag_is_named_by_its_row_in_new_runs(fit20):
    runs = new_runs([2.0, 1.98, 2.1], diverged=[False, True, False])
    message = refusal(fit20, runs)
    assert "fits every run as a converged one (it counts no diverged run)" in message
    assert "column 'diverged' flags 1 of 3 new runs, at rows 41 (row labels of new_runs)" in (
        message
    )
    assert "the hyperparams and sweep laws count the diverged runs" in message
    assert "of 23 runs" not in message and "new_runs.drop(index=[41])" in message


def test_an_infinite_loss_is_not_called_missing(fit20):
    message = refusal(fit20, new_runs([2.0, np.inf, 2.1]))
    assert "column 'loss' is +inf (not finite) in 1 of 3 new runs, at rows 41" in message
    assert "missing" not in message


def test_each_kind_is_said_with_its_rows_and_one_remedy_names_them_all(fit20):
    runs = new_runs([np.inf, np.nan, 2.1], diverged=[False, False, True])
    message = refusal(fit20, runs)
    assert "'loss' is missing in 1 of 3 new runs, at rows 41 (" in message
    assert "'loss' is +inf (not finite) in 1 of 3 new runs, at rows 40 (" in message
    assert "'diverged' flags 1 of 3 new runs, at rows 42 (" in message
    assert "new_runs.drop(index=[40, 41, 42])" in message


def test_a_run_table_is_told_to_exclude_them(fit20):
    """A RunTable's exclusions are recorded by the updated fit: the remedy for it."""
    table = bl.load_runs(new_runs([2.0, np.nan, 2.1]), allow_missing_loss=True)
    message = refusal(fit20, table)
    assert "1 of 3 new runs, at rows 41 (row labels of new_runs)" in message
    assert "new_runs.exclude(new_runs.df.index.isin([41]), reason=...)" in message


def test_labels_that_are_not_integers_are_quoted(fit20):
    runs = new_runs([2.0, np.nan, 2.1]).set_axis(["a", "b", "c"])
    message = refusal(fit20, runs)
    assert "at rows b (row labels of new_runs)" in message
    assert "new_runs.drop(index=['b'])" in message
