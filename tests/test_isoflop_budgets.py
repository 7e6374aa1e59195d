"""The isoFLOP law's budget matching at query time: a budget within BUDGET_RTOL of a fitted
budget is that (nearest) fitted budget, any other a new budget, each decided alone, so the answer
at a budget does not depend on the other budgets in the call and ``fitted_budget`` says which
draws were used (one small SIMULATED fit, ~10 s, and a hand-made posterior)."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws.laws.contract import Posterior, Scales
from bayeslaws.laws.isoflop import LAW, budget_levels
from bayeslaws.posterior.allocation import allocation_draws
from bayeslaws.runs import PlausibilityWarning, simulate
from bayeslaws.runs.compute import linear

TINY = {"chains": 1, "warmup": 150, "draws": 150, "dense_mass": False, "warn": False}
BUDGETS = (1e17, 3e17, 1e18, 3e18)  # FLOPs
INSIDE, OUTSIDE = 1 + 9e-4, 1 + 1.1e-3  # relative offsets just within / beyond BUDGET_RTOL


@pytest.fixture(scope="module")
def fit():
    runs = simulate.simulate_liang_isoflop(
        seed=2, budgets=BUDGETS, n_per_budget=5, spread_decades=0.8
    )
    return bl.fit(runs, law="isoflop", likelihood="gaussian", seed=0, **TINY)


def test_a_budget_within_tolerance_of_a_fitted_one_is_it_whatever_else_is_asked(fit):
    """C (1 + 9e-4) beside C (1 + 1.1e-3) was chained to that new budget's level and answered
    by trend + scatter while flagged fitted_budget=True (Llama-3: N_opt 8.5e9 [6.2e9, 1.1e10]
    instead of the fitted 6.9e9 [6.6e9, 7.4e9])."""
    j = 2
    C = fit.record.law_state["budgets"][j]
    vertex = fit.draws(["N_opt"])["N_opt"][:, j]
    alone = allocation_draws(fit, [C * INSIDE])
    among = allocation_draws(fit, [C, C * INSIDE, C * OUTSIDE, C * 1.01])
    np.testing.assert_array_equal(among["N_opt"][:, 1], alone["N_opt"][:, 0])
    np.testing.assert_allclose(among["N_opt"][:, 1], vertex, rtol=1e-5)  # its own vertex
    assert alone["fitted_budget"][0].tolist() == [True]
    assert among["fitted_budget"][0].tolist() == [True, True, False, False]


def test_a_budget_beyond_tolerance_is_a_new_budget_whatever_else_is_asked(fit):
    """C (1 + 1.1e-3) beside C (1 + 9e-4) was merged into that one's level and answered by the
    fitted vertex while flagged fitted_budget=False."""
    j = 2
    C = fit.record.law_state["budgets"][j]
    vertex = fit.draws(["N_opt"])["N_opt"][:, j]
    alone = allocation_draws(fit, [C * OUTSIDE])
    among = allocation_draws(fit, [C * INSIDE, C * OUTSIDE])
    np.testing.assert_allclose(among["N_opt"][:, 1], alone["N_opt"][:, 0], rtol=1e-12)
    np.testing.assert_allclose(among["L_opt"][:, 1], alone["L_opt"][:, 0], rtol=1e-12)
    assert alone["fitted_budget"][0].tolist() == [False]
    assert among["fitted_budget"][0].tolist() == [True, False]
    # a new budget: trend plus fresh scatter, not the fitted vertex (vertex_sd ~ 0.1 in ln N)
    assert np.std(np.log(among["N_opt"][:, 1] / vertex)) > 0.02


def test_predict_at_a_budget_does_not_depend_on_the_rest_of_the_query(fit):
    C = fit.record.law_state["budgets"][1]
    N = 3e8
    for own, other in ((C * INSIDE, C * OUTSIDE), (C * OUTSIDE, C * INSIDE)):
        alone = bl.predict(fit, N=[N], C=[own], kind="mean")
        among = bl.predict(fit, N=[N, N, N], C=[other, own, C], kind="mean")
        for column in ("median", "lower", "upper"):
            assert among[column].iloc[1] == pytest.approx(alone[column].iloc[0], rel=1e-12)
    # within tolerance: the fitted budget's own curve, as predicted at the budget itself
    at_fitted = bl.predict(fit, N=[N, N], C=[C, C * INSIDE], kind="mean")
    assert at_fitted["median"].iloc[1] == pytest.approx(at_fitted["median"].iloc[0], rel=1e-12)


def _two_close_budgets_posterior(budgets) -> Posterior:
    """A hand-made isoflop posterior (40 draws) whose fitted budgets (FLOPs) have distinct
    vertices v[:, b] = b (centred ln N), so the draws show which budget answered."""
    S, B = 40, len(budgets)
    rng = np.random.default_rng(0)
    d = {
        "a_opt": rng.normal(0.5, 0.01, S),
        "n0": np.zeros(S),
        "l0": np.zeros(S),
        "a_L": np.full(S, -0.05),
        "vertex_sd": np.full(S, 0.2),
        "loss_sd": np.full(S, 0.01),
        "log_h0": np.full(S, -3.0),
        "log_h1": np.zeros(S),
        "h_sd": np.full(S, 0.1),
        "v": np.tile(np.arange(B, dtype=float), (S, 1)),
        "m": np.zeros((S, B)),
        "log_h": np.full((S, B), -3.0),
        "sigma": np.full(S, 0.01),
    }
    scales = Scales({"N": 20.0, "C": 44.0, "loss": 1.0})
    return Posterior(d, scales, (None,), {"budgets": list(budgets)}, "gaussian")


def test_a_query_takes_the_nearest_fitted_budget_as_training_did():
    """Training runs at 1e19, 1.0009e19 and 1.0015e19 FLOPs give levels 1e19 and 1.0015e19 with
    1.0009e19 in the second (the nearer); a query at 1.0009e19, within tolerance of both, took
    the first match (1e19) instead."""
    train_C = [1e19, 1.0009e19, 1.0015e19]
    levels, index = budget_levels(train_C)
    assert levels.tolist() == [1e19, 1.0015e19] and index.tolist() == [0, 1, 1]
    post = _two_close_budgets_posterior(levels)
    v = LAW.budget_draws(post, train_C)["v"]
    np.testing.assert_array_equal(v[0], index.astype(float))  # each run's own training level
    alloc = LAW.allocation(post, train_C, linear(), group=None, rng=None)
    assert alloc["fitted_budget"][0].tolist() == [True, True, True]


def test_a_budget_a_few_percent_from_a_fitted_one_warns_that_it_is_answered_as_new(fit):
    """A query 2% from a fitted budget (C rounded, or 6ND of runs with nominal budgets, as
    Marin's) was answered silently as a new budget: wider, and not the fitted curve."""
    C = fit.record.law_state["budgets"][2]
    said = r"C = 1\.02e\+18 \(\+2\.00% from the fitted 1e\+18\).*answered as a NEW budget"
    with pytest.warns(PlausibilityWarning, match=said) as told:
        bl.predict(fit, N=[3e8], C=[C * 1.02])
    with pytest.warns(PlausibilityWarning, match="answered as a NEW budget") as told_too:
        bl.optimal_allocation(fit, C=[C * 0.97])
    for record in (*told, *told_too):  # at the caller's line, not inside the package
        assert record.filename == __file__, record.filename
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bl.predict(fit, N=[3e8, 3e8, 3e8], C=[C * INSIDE, 5e17, C * 1.2])  # its own, far, far
        # a figure's own grid of budgets passes near fitted ones: nothing the user asked
        plt.close(bl.plot.n_opt(fit, n_points=200))
    assert not [w for w in caught if "NEW budget" in str(w.message)]
