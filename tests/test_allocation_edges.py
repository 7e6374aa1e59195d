"""Edges of the compute-optimal allocation: closed-form optima outside the isoFLOP search range,
and near-optimal tolerances of a law without a floor (hand-made posteriors, no sampling, < 5 s)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayeslaws.laws import optimum
from bayeslaws.laws.chinchilla import LAW as CHINCHILLA
from bayeslaws.laws.contract import Posterior, Scales
from bayeslaws.posterior.allocation import NearOptimal
from bayeslaws.runs import compute

BUDGETS = np.array([1e20, 1e22])  # FLOPs


def _chinchilla_posterior() -> Posterior:
    """Three draws on a Chinchilla surface: an ordinary one, one with beta near 0 (closed-form
    N_opt ~6e16 params, above the search range's 1e16 at 1e20 FLOPs) and one with alpha near 0
    (N_opt ~1.6 params, below its 10)."""
    scales = Scales({"N": np.log(3e8), "D": np.log(6e9), "loss": np.log(2.5)})
    draws = {
        "alpha": np.array([0.34, 0.34, 0.0005]),
        "beta": np.array([0.30, 0.0005, 0.30]),
        "a": np.full(3, -2.0),
        "b": np.full(3, -2.0),
        "e": np.full(3, -0.3),
        "sigma": np.full(3, 0.01),
    }
    return Posterior(draws, scales, (None,), {}, "gaussian")


def _allocation(method: str) -> dict:
    return CHINCHILLA.allocation(
        _chinchilla_posterior(), BUDGETS, compute.linear(6.0), group=None,
        rng=np.random.default_rng(0), method=method,
    )


def test_closed_form_flags_and_holds_optima_outside_the_search_range_as_numerical_does():
    """The closed form flagged no draw (at_boundary all False) and reported N_opt = 6e16 and
    1.6 params where the numerical search flags the edge and reports it: both now agree."""
    closed, numeric = _allocation("closed_form"), _allocation("numerical")
    assert closed["method"] == "closed_form" and numeric["method"] == "numerical"
    expected = np.array([[False, False], [True, False], [True, False]])
    np.testing.assert_array_equal(numeric["at_boundary"], expected)
    np.testing.assert_array_equal(closed["at_boundary"], expected)
    lo, hi = optimum.search_range(BUDGETS)
    u = np.log(closed["N_opt"])
    assert np.all((u >= lo - 1e-9) & (u <= hi + 1e-9))
    assert u[1, 0] == pytest.approx(hi[0]) and u[2, 0] == pytest.approx(lo[0])
    # the same values to within one coarse step of the search (the numerical zoom's reach)
    step = optimum.coarse_step(BUDGETS)
    assert np.all(np.abs(u - np.log(numeric["N_opt"])) <= step)
    np.testing.assert_allclose(closed["L_opt"], numeric["L_opt"], rtol=1e-4)
    np.testing.assert_allclose(6.0 * closed["N_opt"] * closed["D_opt"], np.tile(BUDGETS, (3, 1)))


def test_clipping_leaves_optima_inside_the_search_range_unchanged():
    lo, hi = optimum.search_range(BUDGETS)
    u = np.array([[np.log(1e9), np.log(1e10)], [lo[0] + 1.0, hi[1] - 1.0]])
    clipped, at_boundary = optimum.clip_to_search_range(u, BUDGETS)
    np.testing.assert_array_equal(clipped, u)
    assert not at_boundary.any()


def _near(floor) -> NearOptimal:
    table = pd.DataFrame({"N": [1e9, 2e9], "prob_within": [1.0, 1.0]})
    smallest = {
        "N": 1e9, "size_vs_optimal": -0.5, "excess": 0.01, "excess_lower": 0.0,
        "excess_upper": 0.02, "excess_reducible": 0.01, "excess_reducible_lower": 0.0,
        "excess_reducible_upper": 0.02,
    }
    share = (1.0, 1.0, 1.0) if floor is None else (0.2, 0.15, 0.25)
    return NearOptimal(
        1e22, 0.05, 0.9, 0.9, table, 2e9, 1.5e9, 2.5e9, (1e9, 2e9), smallest, "reducible",
        floor, share,
    )


def test_near_optimal_of_a_law_without_a_floor_says_reducible_is_the_whole_loss():
    """Without a floor (kaplan, isoflop without loss_floor) 5% of the 'reducible' loss is 5% of
    the total: the repr said '5% of the total, 5% of the reducible' and no more."""
    floorless = repr(_near(None))
    assert "the law declares no floor" in floorless
    assert "reducible loss is the whole loss" in floorless
    assert "no floor" not in repr(_near((2.0, 1.9, 2.1)))
    assert _near((2.0, 1.9, 2.1)).floorless_note == ""


def test_near_optimal_refuses_a_tolerance_above_one_as_the_cli_does():
    """tolerance=5 meant as 5% was read as 500% (a band over the whole search range, with only
    a search-edge warning); the command line already refused it. Checked before any draw."""
    from bayeslaws.posterior.allocation import near_optimal

    with pytest.raises(ValueError, match=r"fraction of the loss in \(0, 1\] \(0.05 = 5%\), got 5"):
        near_optimal(None, 1e21, 5, relative_to="reducible")
