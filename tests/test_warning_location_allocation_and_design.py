"""Far-value (PlausibilityWarning) and new-group warnings of the allocation functions, the
design candidates, fixed_vs_optimal and the plots point at the user's line, however deep the
call."""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from conftest import own_cache  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws import design, plot  # noqa: E402
from bayeslaws.plot.figures import pyplot  # noqa: E402
from bayeslaws.posterior import allocation_draws  # noqa: E402
from bayeslaws.runs import PlausibilityWarning  # noqa: E402

FAR_C = 1e28  # FLOPs: more than 6 decades above simulated_fit's budgets (3.6e17..3.6e21)


@contextmanager
def _caught():
    """The warnings of the ``with`` block. The calls are made in the test function's own body
    (no lambda or helper frame in this file between it and the package), so that a stacklevel
    one frame too far lands in pytest, not in this file."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def _at_this_file(caught, category=PlausibilityWarning, words: str = "") -> None:
    """Some ``category`` warning holds ``words``, and every such warning is located here."""
    places = [
        (w.filename, w.lineno)
        for w in caught
        if issubclass(w.category, category) and words in str(w.message)
    ]
    assert places, [(w.category.__name__, str(w.message)[:120]) for w in caught]
    assert {f for f, _ in places} == {__file__}, places


# ---- 1. far values ---------------------------------------------------------------------------
def test_far_budget_of_the_allocation_functions_is_located_at_the_callers_line(simulated_fit):
    """allocation_draws called directly named the frame above this test (a fixed stacklevel
    counted for optimal_allocation's depth)."""
    with _caught() as caught:
        bl.optimal_allocation(simulated_fit, C=[FAR_C])
    _at_this_file(caught, words="C = 1e+28")
    with _caught() as caught:
        bl.allocation_laws(simulated_fit, C_range=(1e20, FAR_C), n_budgets=3)
    _at_this_file(caught, words="C = 1e+28")
    with _caught() as caught:
        allocation_draws(simulated_fit, [FAR_C])
    _at_this_file(caught, words="C = 1e+28")


def test_far_sizes_of_near_optimal_are_located_at_the_callers_line(simulated_fit):
    """N = 1e4 params, 3.8 decades below the fitted sizes: its warning named the frame above
    this test (stacklevel 5, one too many)."""
    with _caught() as caught:
        bl.near_optimal(simulated_fit, 1e21, N=[1e4, 1e9], n_grid=5)
    _at_this_file(caught, words="N = 1e+04")


def test_far_candidates_are_located_at_the_callers_line(simulated_fit):
    """pool_units checks its runs through check_candidates (stacklevel 6: one frame too far
    for pool_units); isoflop_candidates, centred by the fit, through allocation_draws."""
    pool = pd.DataFrame({"N": [1e4, 1e9], "D": [1e10, 2e10]})
    with _caught() as caught:
        design.pool_units(simulated_fit, pool)
    _at_this_file(caught, words="N = 1e+04")
    with _caught() as caught:
        design.isoflop_candidates([FAR_C], 3, fit=simulated_fit)
    _at_this_file(caught, words="C = 1e+28")


def test_far_budget_of_the_plots_is_located_at_the_callers_line(simulated_fit):
    """plot.isoflop reaches the budget's check through optimal_allocation -> allocation_draws
    (it named plot.py); plot.n_opt checks its C_range's ends itself."""
    with _caught() as caught:
        plot.isoflop(simulated_fit, [FAR_C], n_points=5)
    _at_this_file(caught, words="C = 1e+28")
    with _caught() as caught:
        plot.n_opt(simulated_fit, C_range=(1e20, FAR_C), n_points=5)
    _at_this_file(caught, words="C = 1e+28")
    pyplot().close("all")


def test_far_budget_and_cells_of_fixed_vs_optimal_are_located_at_the_callers_line(
    small_sweep_sweep_fit,
):
    cells = pd.DataFrame({"N": np.geomspace(1e3, 1e4, 5), "D": np.geomspace(1e9, 1e10, 5)})
    with _caught() as caught:
        bl.fixed_vs_optimal(
            small_sweep_sweep_fit, FAR_C, cells=cells, lr=1e-3, batch_size=1e5, n_draws=10
        )
    _at_this_file(caught, words="C = 1e+28")
    _at_this_file(caught, words="fixed_vs_optimal(cells=...)")


# ---- 1. new group ----------------------------------------------------------------------------
def test_new_group_warnings_are_located_at_the_callers_line(two_scales_fits):
    """group=None on a grouped fit (each call on a fresh Fit: the warning is once per fit)."""
    grouped = two_scales_fits[0]
    with _caught() as caught:
        bl.optimal_allocation(own_cache(grouped), C=[1e19])
    _at_this_file(caught, UserWarning, "answers for a NEW")
    with _caught() as caught:
        bl.allocation_laws(own_cache(grouped), C_range=(1e18, 1e20), n_budgets=3)
    _at_this_file(caught, UserWarning, "answers for a NEW")
    with _caught() as caught:
        bl.near_optimal(own_cache(grouped), 1e19, n_grid=5)
    _at_this_file(caught, UserWarning, "answers for a NEW")
    with _caught() as caught:
        design.isoflop_candidates([1e19], 3, fit=own_cache(grouped))
    _at_this_file(caught, design.GroupWarning, "NEW group")
