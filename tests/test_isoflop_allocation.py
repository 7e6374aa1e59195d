"""The isoFLOP law's allocation and law table: the allocation at a budget is the vertex of the
curve predict draws there (a fitted budget its own, a new one trend plus budget scatter), and
with the floor the law table's rows add up to L_opt (one small SIMULATED fit, ~10 s)."""

from __future__ import annotations

import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.laws.contract import Posterior, Scales
from bayeslaws.laws.isoflop import LAW
from bayeslaws.posterior.allocation import allocation_draws, near_optimal, optimal_allocation
from bayeslaws.runs import simulate
from bayeslaws.runs.compute import linear

TINY = {"chains": 1, "warmup": 150, "draws": 150, "dense_mass": False, "warn": False}
BUDGETS = (1e17, 3e17, 1e18, 3e18)  # FLOPs


@pytest.fixture(scope="module")
def fit():
    runs = simulate.simulate_liang_isoflop(
        seed=2, budgets=BUDGETS, n_per_budget=5, spread_decades=0.8
    )
    return bl.fit(runs, law="isoflop", likelihood="gaussian", seed=0, **TINY)


def _trend_log_N(fit, C):
    """ln N_opt on the law's trend n0 + a_opt c per draw (S,) at one budget C (FLOPs)."""
    d = fit.draws(["n0", "a_opt"])
    s = fit.posterior().scales
    return d["n0"] + d["a_opt"] * (np.log(C) - s["C"]) + s["N"]


def test_allocation_at_a_fitted_budget_is_its_own_vertex(fit):
    j = 2
    C = fit.record.law_state["budgets"][j]
    vertex = fit.draws(["N_opt", "L_opt"])
    draws = allocation_draws(fit, [C])
    np.testing.assert_allclose(draws["N_opt"][:, 0], vertex["N_opt"][:, j], rtol=1e-5)
    np.testing.assert_allclose(draws["L_opt"][:, 0], vertex["L_opt"][:, j], rtol=1e-5)
    # the same budget given to 0.01% (within BUDGET_RTOL) is that budget too
    table = optimal_allocation(fit, C=[C * 1.0001, C * 1.01])
    assert table["N_opt"].iloc[0] == pytest.approx(np.median(vertex["N_opt"][:, j]), rel=1e-5)
    # and the table says which rows are fitted budgets (1% off: a new budget, trend + scatter)
    assert table["fitted_budget"].tolist() == [True, False]
    # near_optimal's profile is that budget's fitted curve, the one predict draws there
    near = near_optimal(fit, C=C, tolerance=0.01, relative_to="total", n_grid=21)
    assert near.N_opt == pytest.approx(np.median(vertex["N_opt"][:, j]), rel=1e-5)
    N = near.table["N"].to_numpy()
    curve = bl.predict(fit, N=N, C=np.full(N.size, C), kind="mean")
    np.testing.assert_allclose(near.table["loss"], curve["median"], rtol=1e-6)


def test_allocation_at_a_new_budget_carries_the_budget_scatter(fit):
    C = 1e20  # beyond the fitted budgets
    draws = allocation_draws(fit, [C])
    vertex_sd = fit.draws(["vertex_sd"])["vertex_sd"]
    z = (np.log(draws["N_opt"][:, 0]) - _trend_log_N(fit, C)) / vertex_sd
    assert 0.75 < np.std(z) < 1.3 and abs(np.mean(z)) < 0.3  # standard normal, S = 150
    # the trend without scatter stays available (what allocation_laws regresses)
    np.testing.assert_allclose(np.log(draws["N_opt_trend"][:, 0]), _trend_log_N(fit, C), 1e-6)
    np.testing.assert_allclose(draws["D_opt"] * draws["N_opt"] * 6, C, rtol=1e-6)


def test_a_new_budgets_answer_does_not_depend_on_the_rest_of_the_call(fit):
    """A new budget's scatter was drawn per query column: the same budget got another interval
    beside other budgets (plot.n_opt's marked budgets disagreed with its band), and a design's
    target N_opt(C) and its observations at C saw two different new budgets."""
    alone = allocation_draws(fit, [1e20])["N_opt"][:, 0]
    among = allocation_draws(fit, [1e21, 1e20, 1e19])["N_opt"][:, 1]
    np.testing.assert_allclose(alone, among, rtol=1e-12)
    post = fit.posterior()
    twice = LAW.budget_draws(post, [1e20, 1e20, 3e20], rng=np.random.default_rng(0))
    other = LAW.budget_draws(post, [3e20], rng=np.random.default_rng(1))
    np.testing.assert_array_equal(twice["v"][:, 0], twice["v"][:, 1])
    np.testing.assert_allclose(twice["v"][:, 2], other["v"][:, 0], rtol=1e-12)
    # a budget given 2e-4 off (one budget to the law, e.g. C = 6ND rounded) is the same
    # budget's draws: the design's target at C and its candidates at C (1 + 2e-4) share it
    near = LAW.budget_draws(post, [3e20 * (1 + 2e-4)], rng=np.random.default_rng(2))
    deviation = twice["v"][:, 2] - near["v"][:, 0]
    assert np.std(deviation) < 0.05 * np.std(twice["v"][:, 2])
    # and distinct budgets have independent deviations (the law's budget scatter)
    sd = fit.draws(["vertex_sd"])["vertex_sd"]
    z = [(LAW.budget_draws(post, [C], rng=None)["v"][:, 0] - _trend_log_N(fit, C)
          + fit.posterior().scales["N"]) / sd for C in (1e20, 1e21)]  # fmt: skip
    assert abs(np.corrcoef(z[0], z[1])[0, 1]) < 0.3


def test_profile_and_allocation_share_a_new_budgets_curve():
    """Whatever their rng streams, the profile's minimum over a fine grid is the allocation's
    vertex (one new budget)."""
    post = _floor_posterior(budget_draws=True)
    N = np.geomspace(1e8, 1e11, 4001)
    kw = {"group": None, "compute_model": linear()}
    alloc = LAW.allocation(post, [1e21], rng=np.random.default_rng(3), **kw)
    profile = LAW.isoflop_profile(post, 1e21, N, rng=np.random.default_rng(4), **kw)
    i = np.argmin(profile, axis=1)
    np.testing.assert_allclose(N[i], alloc["N_opt"][:, 0], rtol=2e-3)  # the grid's step
    np.testing.assert_allclose(np.exp(profile.min(axis=1)), alloc["L_opt"][:, 0], rtol=1e-6)
    assert np.std(np.log(alloc["N_opt"][:, 0] / alloc["N_opt_trend"][:, 0])) > 0.05


def _floor_posterior(budget_draws: bool = False) -> Posterior:
    """A hand-made posterior of the isoflop law with the floor (50 draws; scales: ln N_ref 20,
    ln C_ref 45, ln L_ref 1), its k_L and E_floor consistent with l0, e_floor."""
    rng = np.random.default_rng(0)
    S = 50
    scales = Scales({"N": 20.0, "C": 45.0, "loss": 1.0})
    d = {
        "a_opt": rng.normal(0.5, 0.01, S),
        "n0": rng.normal(0.0, 0.05, S),
        "l0": rng.normal(-1.0, 0.01, S),
        "a_L": rng.normal(-0.1, 0.002, S),
        "e_floor": rng.normal(-0.5, 0.01, S),
        "vertex_sd": np.full(S, 0.2),
        "loss_sd": np.full(S, 0.01),
        "log_h0": np.full(S, -3.0),
        "log_h1": np.zeros(S),
        "h_sd": np.full(S, 0.1),
        "sigma": np.full(S, 0.01),
    }
    d["k_opt"] = np.exp(d["n0"] + scales["N"] - d["a_opt"] * scales["C"])
    d["k_L"] = np.exp(d["l0"] + scales["loss"] - d["a_L"] * scales["C"])
    d["E_floor"] = np.exp(d["e_floor"] + scales["loss"])
    budgets = [1e19]
    if budget_draws:  # the fitted budget's own curve
        d.update({"v": rng.normal(-3, 0.05, (S, 1)), "m": rng.normal(0, 0.01, (S, 1))})
        d["log_h"] = np.full((S, 1), -3.0)
    return Posterior(d, scales, (None,), {"budgets": budgets}, "gaussian")


def test_law_table_with_the_floor_labels_the_reducible_part():
    law = LAW.configure(loss_floor=True)
    post = _floor_posterior()
    table = law.law_table(post, ci=0.9)
    assert "L_opt" not in table.index  # k_L C^a_L alone is not L_opt with the floor
    assert {"N_opt", "L_opt - E_floor", "E_floor"} <= set(table.index)
    assert table.loc["E_floor", "exponent"] == 0.0
    assert table.loc["E_floor", "coef"] == pytest.approx(np.median(post.draws["E_floor"]))
    # the rows add up to the law's L_opt (the draws' spread is small: medians nearly add)
    for C in (1e19, 1e21, 1e23):
        rows = table.loc[["L_opt - E_floor", "E_floor"]]
        total = float((rows["coef"] * C ** rows["exponent"]).sum())
        trend = law.trend_allocation(post, [C])["L_opt"][:, 0]
        assert total == pytest.approx(np.median(trend), rel=5e-3)
    # without the floor the row is L_opt itself
    plain = LAW.law_table(post, ci=0.9)
    assert "L_opt" in plain.index and "E_floor" not in plain.index


def test_the_report_says_which_allocation_budgets_were_fitted(fit):
    """The report printed a fitted budget's interval next to a wider one 1% away with nothing
    saying why; it names the fitted budget now (and only it)."""
    import warnings

    from bayeslaws.app.report import FITTED_BUDGET_NOTE, fit_report

    C = fit.record.law_state["budgets"][-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = fit_report(fit, budgets=[C, C * 1.01]).to_text()
    flat = " ".join(text.split())
    assert flat.count(" ".join(FITTED_BUDGET_NOTE.split())) == 3  # N_opt, D_opt, L_opt rows
