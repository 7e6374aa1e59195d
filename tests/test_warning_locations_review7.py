"""Review 7 follow-ups.

1. Far-value (PlausibilityWarning) and new-group warnings of the allocation functions, the
   design candidates, fixed_vs_optimal and the plots point at the user's line (the first frame
   outside the package, bayeslaws.runs.warn.user_stacklevel), however deep the call: fixed
   stacklevels named a package line (plot.isoflop -> optimal_allocation -> allocation_draws
   named plot.py) or overshot the user's line (near_optimal's sizes, allocation_draws called
   directly, pool_units' candidates named a frame above the caller's).
2. The one-chain R-hat of stacking and form averaging (stacking.max_r_hat) no longer lets ArviZ
   log "Shape validation failed" on stderr.
3. isoflop_candidates refuses a spread_decades or tokens_per_param that is not a number with an
   ArgumentTypeError naming it (a string gave a raw NumPy TypeError).
"""

from __future__ import annotations

import logging
import types
import warnings
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import own_cache  # noqa: E402

import bayeslaws as bl  # noqa: E402
from bayeslaws import design, plot  # noqa: E402
from bayeslaws.posterior import allocation_draws  # noqa: E402
from bayeslaws.posterior.extrapolation.stacking import max_r_hat  # noqa: E402
from bayeslaws.runs import PlausibilityWarning  # noqa: E402
from bayeslaws.runs.checks import ArgumentTypeError  # noqa: E402

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
    plot._pyplot().close("all")


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


# ---- 2. one-chain R-hat of stacking ---------------------------------------------------------
class _Kept(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_one_chain_r_hat_of_stacking_says_nothing_on_stderr(monkeypatch, capfd):
    """One chain of 6 draws: R-hat of its halves (2 x 3 draws) is NaN, and ArviZ's "Shape
    validation failed ... minimum_shape: (chains=2, draws=4)" is no longer logged."""
    import arviz

    monkeypatch.setattr(arviz._log, "cache", [])  # ArviZ says a message once per process
    kept = _Kept()
    arviz._log.addHandler(kept)
    try:
        rng = np.random.default_rng(0)
        idata = arviz.from_dict(posterior={"a": rng.normal(size=(1, 6))})
        r_hat = max_r_hat(types.SimpleNamespace(idata=idata))
    finally:
        arviz._log.removeHandler(kept)
    assert np.isnan(r_hat)
    assert not any("Shape validation failed" in m for m in kept.messages), kept.messages
    assert "Shape validation failed" not in capfd.readouterr().err


# ---- 3. isoflop_candidates' numeric arguments --------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"spread_decades": "1.0"}, "spread_decades"),
        ({"spread_decades": [0.5, 1.0]}, "spread_decades"),
        ({"spread_decades": None}, "spread_decades"),
        ({"tokens_per_param": [20.0]}, "tokens_per_param"),
        ({"tokens_per_param": "many"}, "tokens_per_param"),
    ],
)
def test_isoflop_candidates_refuses_a_non_number_naming_it(kwargs, name):
    with pytest.raises(ArgumentTypeError, match=f"^{name} must be a number"):
        design.isoflop_candidates([1e20], 3, **kwargs)


def test_isoflop_candidates_keeps_its_value_checks():
    with pytest.raises(ValueError, match="spread_decades must be >= 0"):
        design.isoflop_candidates([1e20], 3, spread_decades=float("nan"))
    with pytest.raises(ValueError, match="tokens_per_param"):
        design.isoflop_candidates([1e20], 3, tokens_per_param=-1.0)
    ok = design.isoflop_candidates([1e20], 3, spread_decades=np.float64(0.5), tokens_per_param=20)
    assert len(ok) == 3
