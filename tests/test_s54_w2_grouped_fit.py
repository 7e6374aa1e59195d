"""A grouped fit says it is grouped (s54 W2): its repr counts the groups, and the screening
warning names the group of a flagged run (it named the row only, so among many groups the
user had to look the row up). One small NUTS run on SIMULATED Chinchilla runs in two groups."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from conftest import TRUTH, chinchilla_design

import bayeslaws as bl
from bayeslaws.inference.screening import OutlierWarning
from bayeslaws.runs import simulate

SMALL = {"chains": 1, "warmup": 150, "draws": 100, "seed": 0, "likelihood": "gaussian"}


@pytest.fixture(scope="module")
def grouped():
    """(A fit of 60 runs, 30 per group 'a' and 'b' (E 1.8 and 2.0), row 40's loss 1.5x; the
    OutlierWarning messages of the fit.)"""
    N, D = chinchilla_design()
    tables = [
        simulate.simulate_chinchilla_runs({**TRUTH, "E": E, "N": N, "D": D}, 0.01, seed=k)
        .drop(columns=["C"])
        .assign(group=label)
        for k, (E, label) in enumerate([(1.8, "a"), (2.0, "b")])
    ]
    df = pd.concat(tables, ignore_index=True)
    df.loc[40, "loss"] *= 1.5
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = bl.fit(bl.load_runs(df), law="chinchilla", **SMALL)
    return fit, df, [str(w.message) for w in caught if issubclass(w.category, OutlierWarning)]


def test_the_repr_counts_the_groups(grouped):
    fit, _, _ = grouped
    assert f": {fit.n_runs} runs in {len(fit.groups)} groups, " in repr(fit), repr(fit)
    assert sorted(fit.groups) == ["a", "b"]


def test_the_outlier_warning_names_the_flagged_runs_group(grouped):
    _, df, messages = grouped
    assert len(messages) == 1, messages
    assert f"rows 40 (group 'b', loss {df.loc[40, 'loss']:.4g}, " in messages[0], messages[0]
