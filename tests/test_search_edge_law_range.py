"""The posterior layer reads the isoFLOP search range a law actually searched (its allocation's
``search_lo``, ``search_hi``), not the whole 10 params to 1e6 sqrt(C): Farseer's search is
held to its fitted sizes +- 2 decades, and its edge warning, its floor share and calibration's
edge-bounded intervals said "searched N 10 to 1e+16 params" of a search that stopped at 1.6e5
and 6.3e11. Chinchilla's (the whole range) stay as they were. Hand-made posteriors (no
sampling) but for one SIMULATED Farseer fit (2 chains x 300 + 300, ~15 s)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from test_allocation_edges import BUDGETS as CHINCHILLA_BUDGETS
from test_allocation_edges import _allocation as chinchilla_allocation
from test_farseer_search import FITTED_N, allocate, posterior

import bayeslaws as bl
from bayeslaws.laws import LAWS, optimum
from bayeslaws.posterior import calibration as cal
from bayeslaws.posterior import splits
from bayeslaws.posterior.allocation import (
    SearchEdgeWarning,
    edge_message,
    floor_pinned,
    refuse_below_one,
    searched_range,
    warn_at_edge,
)


# ---- hand-made posteriors: what the law searched, and what the posterior layer says of it ----
def test_surface_allocation_gives_the_range_it_searched():
    """Farseer: its narrowed range (fitted sizes +- 2 decades); Chinchilla: the whole one."""
    C = np.array([1e20])
    out = allocate({"N_range": FITTED_N}, 1e20)
    lo, hi = LAWS["farseer"].search_range(posterior({"N_range": FITTED_N}), C)
    np.testing.assert_allclose(out["search_lo"], np.exp(lo)[None, :], rtol=1e-12)
    np.testing.assert_allclose(out["search_hi"], np.exp(hi)[None, :], rtol=1e-12)
    np.testing.assert_allclose(out["search_lo"][0, 0], FITTED_N[0] / 100, rtol=1e-12)
    chin = chinchilla_allocation("numerical")
    whole = np.exp(optimum.search_range(CHINCHILLA_BUDGETS))
    assert chin["search_lo"].shape == chin["N_opt"].shape
    np.testing.assert_allclose(chin["search_lo"], np.broadcast_to(whole[0], (3, 2)), rtol=1e-14)
    np.testing.assert_allclose(chin["search_hi"], np.broadcast_to(whole[1], (3, 2)), rtol=1e-14)


def test_edge_warning_names_the_narrowed_range_not_the_whole():
    """Fitted sizes 1e3-1e4 params: the search stops at 1e6, where this draw's optimum sits."""
    C = np.array([1e20])
    draws = allocate({"N_range": [1e3, 1e4]}, 1e20)
    assert draws["at_boundary"].all()
    with pytest.warns(SearchEdgeWarning) as caught:
        warn_at_edge(C, draws, "none", "t")
    message = str(caught[0].message)
    assert "(searched N 10 to 1e+06 params)" in message and "1e+16" not in message


def test_floor_share_counts_the_narrowed_floor_but_refusal_needs_the_whole_one():
    """Fitted sizes 2e10-3e10 params: at 1e18 FLOPs the search starts at 2e8 params, above this
    draw's optimum (1.04e8): its N_opt is held there and flagged, so floor_pinned counts it.
    It is no unit slip (the optimum lies below 2e8 params, not below one), so a budget 3
    decades below the fitted ones is answered, not refused as one pinned at 10 params is."""
    C = np.array([1e18])
    draws = allocate({"N_range": [2e10, 3e10]}, 1e18)
    assert draws["at_boundary"].all()
    np.testing.assert_allclose(draws["N_opt"], 2e8, rtol=1e-9)
    assert floor_pinned(C, draws).tolist() == [1.0]
    assert floor_pinned(C, draws, whole_floor=True).tolist() == [0.0]
    refuse_below_one(C, draws, (1e21, 1e23))  # no ValueError
    np.testing.assert_allclose(searched_range(C, draws), [[2e8], [3e12]], rtol=1e-9)
    with pytest.warns(SearchEdgeWarning, match=r"searched N 2e\+08 to 3e\+12 params"):
        warn_at_edge(C, draws, "none", "t")


def test_chinchilla_edge_text_and_floor_share_unchanged():
    """Chinchilla searches the whole range: the message from its draws' range is the one from
    optimum.search_range, word for word, and its floor share the same both ways."""
    draws = chinchilla_allocation("numerical")
    share = np.asarray(draws["at_boundary"], bool).mean(axis=0)
    ours = edge_message(CHINCHILLA_BUDGETS, share, "none", searched=searched_range(
        CHINCHILLA_BUDGETS, draws))  # fmt: skip
    assert ours == edge_message(CHINCHILLA_BUDGETS, share, "none")
    assert "(searched N 10 to 1e+16 params)" in ours
    without = {k: v for k, v in draws.items() if not k.startswith("search_")}
    np.testing.assert_array_equal(
        floor_pinned(CHINCHILLA_BUDGETS, draws), floor_pinned(CHINCHILLA_BUDGETS, without)
    )
    assert floor_pinned(CHINCHILLA_BUDGETS, draws).tolist() == [1 / 3, 0.0]
    bounds = searched_range(CHINCHILLA_BUDGETS, draws)
    for got, old in zip(cal.edge_bounds(CHINCHILLA_BUDGETS, bounds),
                        cal.edge_bounds(CHINCHILLA_BUDGETS), strict=True):  # fmt: skip
        np.testing.assert_allclose(got, old, rtol=1e-12)


def test_calibration_edge_bounded_at_the_narrowed_edge():
    """An N_opt interval ending at Farseer's narrowed top (1e6 params) is bounded by the search;
    against the whole range (1e16) it was not."""
    C = np.array([1e20])
    draws = allocate({"N_range": [1e3, 1e4]}, 1e20)
    searched = searched_range(C, draws)
    bottom, top = cal.edge_bounds(C, searched)
    assert 10 < bottom[0] < 12 and 0.8e6 < top[0] < 1e6
    assert cal.edge_bounded([1e5], [1e6], C, searched).tolist() == [True]
    assert cal.edge_bounded([1e3], [5e5], C, searched).tolist() == [False]
    assert cal.edge_bounded([1e5], [1e6], C).tolist() == [False]  # the whole range's answer


# ---- a SIMULATED Farseer fit ---------------------------------------------------------------
@pytest.fixture(scope="module")
def farseer_fit():
    train = splits.simulated_split("farseer", seed=0)[0]
    return bl.fit(train, law="farseer", chains=2, warmup=300, draws=300, seed=0, warn=False)


def test_farseer_fit_edge_warning_and_calibration_name_the_searched_range(farseer_fit):
    """SIMULATED Farseer split (fitted sizes 1.58e7-6.31e9 params), C = 1e27 FLOPs: ~8% of
    draws put N_opt at the search's top, 6.31e11 params (fitted sizes x 100); the warning said
    'searched N 10 to 3.16e+19 params' and calibration did not count the interval's upper end
    (6.31e11) as the edge."""
    assert farseer_fit.record.law_state == {"N_range": FITTED_N}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = bl.optimal_allocation(farseer_fit, C=[1e27], extrapolation="none")
    edge = [str(w.message) for w in caught if issubclass(w.category, SearchEdgeWarning)]
    assert len(edge) == 1 and table["at_boundary"].iloc[0] > 0
    assert "(searched N 1.58e+05 to 6.31e+11 params)" in edge[0]
    assert "3.16e+19" not in edge[0] and "searched N 10 " not in edge[0]
    assert table["N_opt_upper"].iloc[0] == pytest.approx(FITTED_N[1] * 100, rel=1e-9)
    truth = pd.DataFrame({"C": [1e27], "N_opt": [3e11], "L_opt": [2.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = cal.decision_scores(farseer_fit, truth, "none").set_index("quantity")
    assert scores.loc["N_opt", "edge_bounded90"] and not scores.loc["N_opt", "in90_bounded"]
