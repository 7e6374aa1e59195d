"""The isoFLOP law's checks on its fitted budgets (SIMULATED fits, ~10 s each): a fitted budget
whose runs do not bracket its vertex (all its sizes on one side) says so (the allocation's
``vertex_outside_sampled`` column and an UnbracketedVertexWarning), and ``predict`` by (N, D) on
a fit of nominal budgets (C != 6ND) warns, as optimal_allocation does."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.laws.isoflop import sampled_N_range, vertex_outside
from bayeslaws.posterior.allocation import (
    UNBRACKETED_SHARE,
    UnbracketedVertexWarning,
    near_optimal,
    optimal_allocation,
)
from bayeslaws.posterior.predict import NominalComputeWarning
from bayeslaws.runs import simulate

TINY = {"chains": 1, "warmup": 150, "draws": 150, "dense_mass": False, "warn": False, "seed": 0}


BUDGETS = (1e17, 3e17, 1e18, 3e18)  # FLOPs


ONE_SIDED = 1e18  # the budget that keeps only sizes above its vertex


def _table() -> pd.DataFrame:
    """SIMULATED Liang-style isoFLOP runs: 7 sizes per budget centred on the true vertex."""
    return simulate.simulate_liang_isoflop(
        seed=3, budgets=BUDGETS, n_per_budget=7, spread_decades=0.8
    )


def _unbracketed(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, UnbracketedVertexWarning)]


def _nominal(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, NominalComputeWarning)]


@pytest.fixture(scope="module")
def one_sided():
    """A fit whose budget 1e18 keeps only its 3 sizes above 1.2 x the true vertex (its loss
    rises monotonically in N there); every other budget brackets its vertex."""
    df = _table()
    n_opt = simulate.LiangTruth().n_opt(df["C"])
    keep = (df["C"] != ONE_SIDED) | (df["N"] > 1.2 * n_opt)
    runs = bl.load_runs(df[keep][["N", "C", "loss"]])
    return bl.fit(runs, law="isoflop", likelihood="gaussian", **TINY)


@pytest.fixture(scope="module")
def bracketed():
    """Every budget brackets its vertex; the runs' D is off C / 6N by -10% / +15% (their C is a
    NOMINAL budget, as Marin's are), which the law, fitted on N and C, does not read."""
    runs = bl.load_runs(_table()[["N", "C", "loss"]])
    df = runs.df
    factor = np.where(df["N"] > df.groupby("C")["N"].transform("median"), 1.15, 0.9)
    runs = replace(runs, df=df.assign(D=df["D"] * factor))
    return bl.fit(runs, law="isoflop", likelihood="gaussian", **TINY)


# ---- a fitted budget that does not bracket its vertex ------------------------------------------
def test_vertex_outside_marks_draws_outside_the_sampled_sizes_and_nan_for_new_budgets():
    N_opt = np.array([[1.0, 5.0, 20.0], [3.0, 50.0, 20.0]])
    out = vertex_outside(N_opt, [2.0, 2.0, np.nan], [10.0, 10.0, np.nan])
    np.testing.assert_array_equal(out[:, :2], [[1.0, 0.0], [0.0, 1.0]])
    assert np.isnan(out[:, 2]).all()
    state = {"budgets": [1e17, 1e18], "budget_N_ranges": [[1e6, 1e7], [3e6, 3e7]]}
    low, high = sampled_N_range(state, [1.0001e18, 5e17])  # a fitted budget, a new one
    np.testing.assert_allclose([low[0], high[0]], [3e6, 3e7])
    assert np.isnan(low[1]) and np.isnan(high[1])
    # a fit saved before the ranges were recorded: unknown, never a false alarm
    old = sampled_N_range({"budgets": [1e17, 1e18]}, [1e18])
    assert np.isnan(old[0]).all() and np.isnan(old[1]).all()


def test_a_budget_whose_runs_do_not_bracket_its_vertex_warns_and_says_how_many_draws(one_sided):
    low, high = one_sided.record.law_state["budget_N_ranges"][BUDGETS.index(ONE_SIDED)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = optimal_allocation(one_sided, C=[*BUDGETS, 1e19])
    share = table["vertex_outside_sampled"].to_numpy()
    j = BUDGETS.index(ONE_SIDED)
    assert share[j] > UNBRACKETED_SHARE
    assert table["N_opt"].iloc[j] < low  # the vertex below every size run at that budget
    assert (np.delete(share[:4], j) < UNBRACKETED_SHARE).all()  # the others bracket theirs
    assert np.isnan(share[4])  # a new budget: no runs of its own
    said = _unbracketed(caught)
    assert len(said) == 1
    assert "C = 1e+18 FLOPs" in said[0] and f"{share[j]:.0%} of draws" in said[0]
    assert f"N {low:.3g} to {high:.3g} params" in said[0]
    assert "pooled over the other budgets, not by that budget's own" in said[0]
    for C in (3e17, 1e19):  # asked about a bracketed or a new budget alone: silent
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            optimal_allocation(one_sided, C=[C])
        assert not _unbracketed(caught)
    with pytest.warns(UnbracketedVertexWarning, match=r"^near_optimal: .*C = 1e\+18 FLOPs"):
        near_optimal(one_sided, C=ONE_SIDED, n_grid=21)


def test_budgets_that_bracket_their_vertex_do_not_warn(bracketed):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = optimal_allocation(bracketed, C=list(BUDGETS))
        near_optimal(bracketed, C=BUDGETS[1], n_grid=21)
    assert not _unbracketed(caught)
    assert (table["vertex_outside_sampled"] < 0.05).all()


# ---- predict by (N, D) on nominal budgets -------------------------------------------------------
def test_predict_by_N_and_D_on_nominal_budgets_warns_and_by_N_and_C_does_not(bracketed):
    runs = bracketed.record.training_runs
    N, D, C = (np.asarray(runs[k], float)[:3] for k in ("N", "D", "C"))
    with pytest.warns(NominalComputeWarning, match=r"^predict: the fit's budgets are nominal"):
        bl.predict(bracketed, N=N, D=D)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bl.predict(bracketed, N=N, C=C)
    assert not _nominal(caught)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bl.predict(bracketed, N=N, D=D)
    said = _nominal(caught)
    assert len(said) == 1 and "by N and the nominal budget C" in said[0]
    assert "answered as a NEW budget" in said[0]


def test_predict_by_N_and_D_when_C_is_6ND_is_silent(one_sided):
    runs = one_sided.record.training_runs
    N, D = (np.asarray(runs[k], float)[:3] for k in ("N", "D"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bl.predict(one_sided, N=N, D=D)
    assert not _nominal(caught)


def test_nominal_helpers_are_still_importable_from_allocation():
    import importlib

    allocation = importlib.import_module("bayeslaws.posterior.allocation")
    predict = importlib.import_module("bayeslaws.posterior.predict")  # the module, not bl.predict
    assert allocation.NominalComputeWarning is predict.NominalComputeWarning
    assert allocation.nominal_flops_ratio is predict.nominal_flops_ratio
