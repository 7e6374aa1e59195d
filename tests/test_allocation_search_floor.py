"""The numerical allocation search keeps an edge draw at the edge, as the closed form does, and a
budget whose optimum is pinned at the search floor (10 params), far below the fitted budgets, is
refused as a budget in other units (hand-made posteriors and the shared small fits)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from test_allocation_edges import BUDGETS, _allocation  # three Chinchilla draws, two at the edges

from bayeslaws.laws import optimum
from bayeslaws.posterior.allocation import (
    WARN_DECADES,
    allocation_draws,
    optimal_allocation,
    refuse_below_one,
)


# ---- the numerical search stays inside its range ---------------------------------------------
def test_numerical_edge_draws_sit_at_the_edge_as_the_closed_form_puts_them():
    """The zoom stepped past the search range: a draw at the floor came back at N_opt 9.7
    params (closed form: 10), one at the top a coarse step above it with its loss there, below
    the loss at the edge. Both routes now agree at the edges, and no draw leaves the range."""
    closed, numeric = _allocation("closed_form"), _allocation("numerical")
    lo, hi = optimum.search_range(BUDGETS)
    u = np.log(numeric["N_opt"])
    assert np.all((u >= lo) & (u <= hi))
    assert numeric["N_opt"][2, 0] == pytest.approx(10.0, rel=1e-12)  # at the floor
    assert u[1, 0] == pytest.approx(hi[0], abs=1e-12)  # at the top
    edges = np.asarray(closed["at_boundary"], bool)
    np.testing.assert_allclose(numeric["N_opt"][edges], closed["N_opt"][edges], rtol=1e-12)
    np.testing.assert_allclose(numeric["L_opt"][edges], closed["L_opt"][edges], rtol=1e-12)
    # the ordinary draw's interior optimum as before: the closed form to the search's accuracy
    assert numeric["N_opt"][0] == pytest.approx(closed["N_opt"][0], rel=1e-4)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_minimise_of_a_monotone_function_returns_the_edge_and_its_value(sign):
    """f decreasing towards one edge: the optimum is that edge, f there, flagged."""
    C = np.array([1e18, 1e22])
    u_opt, f_opt, at_boundary = optimum.minimise(lambda u: sign * u, C, S=2)
    lo, hi = optimum.search_range(C)
    edge = np.broadcast_to(lo if sign > 0 else hi, u_opt.shape)
    np.testing.assert_array_equal(u_opt, edge)
    np.testing.assert_array_equal(f_opt, sign * edge)
    assert at_boundary.all()


# ---- a budget pinned at the search floor is refused ------------------------------------------
def _pinned(share: float, C=(1e4,)) -> dict:
    """Draws (100, Q) with ``share`` of them at the 10-parameter floor, the rest at 50."""
    C = np.asarray(C, float)
    n = np.where(np.arange(100)[:, None] < 100 * share, 10.0, 50.0) * np.ones(len(C))
    return {"N_opt": n, "D_opt": C / (6 * n), "at_boundary": n == 10.0}


def test_refusal_at_the_floor_needs_a_majority_there_and_a_budget_far_below_the_fitted():
    with pytest.raises(
        ValueError,
        match=r"C = 1e\+04 give a median N_opt at the smallest size "
        r"searched, 10 parameters .*60% .*not PF-days or 1e18 units",
    ):
        refuse_below_one(np.array([1e4]), _pinned(0.6), (1e17, 1e19))
    with pytest.raises(ValueError, match="smallest size searched"):  # no fitted range known
        refuse_below_one(np.array([1e4]), _pinned(0.6))
    refuse_below_one(np.array([1e4]), _pinned(0.4), (1e17, 1e19))  # a minority: answered
    # within WARN_DECADES of the fitted budgets a floor optimum is the law's, not a unit slip
    near = 1e17 * 10**-WARN_DECADES * 1.01
    refuse_below_one(np.array([near]), _pinned(0.6, (near,)), (1e17, 1e19))


def test_a_budget_in_1e18_units_is_refused_not_answered_with_10_params(simulated_fit):
    """C = 1e4 (a 1e22 budget typed in 1e18 FLOPs) gave N_opt = 10 params and D_opt = 167
    tokens: the N_opt refusal could not fire, N_opt being held to the 10-parameter floor."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for method in ("closed_form", "numerical"):
            with pytest.raises(
                ValueError,
                match=r"C = 1e\+04 give a median N_opt at the "
                r"smallest size searched.*decades below the fitted budgets",
            ):
                allocation_draws(simulated_fit, [1e4], method=method)
        with pytest.raises(ValueError, match="smallest size searched"):
            optimal_allocation(simulated_fit, C=[1e22, 1e4])
        # ordinary budgets, in and beyond the fitted range, are answered as before
        table = optimal_allocation(simulated_fit, C=[1e20, 1e22, 1e24])
    assert (table["at_boundary"] == 0).all() and (table["N_opt"] > 1e8).all()
