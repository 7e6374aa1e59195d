"""Farseer's isoFLOP search for the compute-optimal size is held to its fitted sizes +- 2
decades (``search_decades``), where a draw whose data term vanishes far above them no longer
puts N_opt at 1e16 params; every other law keeps the whole search range; Farseer's NUTS
default target_accept (0.95) is the one a fit uses."""

import warnings

import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.laws import LAWS, optimum
from bayeslaws.laws.contract import Posterior, Scales
from bayeslaws.posterior import splits
from bayeslaws.runs.compute import as_compute_model

SCALES = Scales({"N": 19.561437238883606, "D": 22.374847955643645, "loss": 1.1396746842976824})
FITTED_N = [15848931.924611134, 6309573444.801933]  # params, simulated_split("farseer", seed=0)
# one posterior draw of a Farseer fit of simulated_split("farseer", seed=0) (2 x 300 + 300):
# k_amp > 0 sends its data term to 0 far above the fitted sizes, so that along the isoFLOP line
# of 1e20 FLOPs its loss, after an interior minimum near 5e8 params, falls below it again
# toward 1e16 params (1,667 tokens)
FAR_DRAW = {
    "alpha": 0.31550100445747375,
    "a": -1.113601565361023,
    "e": -0.5991387367248535,
    "beta0": 0.36549973487854004,
    "m_beta": -0.040654223412275314,
    "k_beta": -0.11487455666065216,
    "c0": -1.829872965812683,
    "m_c": 0.3013773560523987,
    "k_amp": 0.378246933221817,
}
SIX_ND = as_compute_model(6.0)
LN10 = np.log(10.0)


def posterior(state: dict) -> Posterior:
    """One draw (FAR_DRAW) with the fit's law state ``state``."""
    draws = {k: np.array([v]) for k, v in FAR_DRAW.items()} | {"sigma": np.array([0.01])}
    return Posterior(draws, SCALES, (None,), state, "gaussian", {})


def allocate(state: dict, C: float) -> dict:
    law = LAWS["farseer"]
    return law.allocation(
        posterior(state), np.array([C]), SIX_ND, group=None, rng=np.random.default_rng(0)
    )


def test_search_range_is_fitted_sizes_two_decades_each_way():
    C = np.array([1e18, 1e20, 1e25])
    lo, hi = LAWS["farseer"].search_range(posterior({"N_range": FITTED_N}), C)
    np.testing.assert_allclose(lo, np.log(FITTED_N[0]) - 2 * LN10, rtol=1e-14)
    np.testing.assert_allclose(hi, np.log(FITTED_N[1]) + 2 * LN10, rtol=1e-14)


def test_search_range_whole_without_record_or_overlap_and_for_other_laws():
    """A fit saved before the bound (no N_range), a budget whose whole range lies below the
    fitted sizes' (C = 1e-3 FLOPs: up to 3e4 params), and a law without ``search_decades``
    keep optimum.search_range exactly."""
    C = np.array([1e-3, 1e20])
    whole = optimum.search_range(C)
    old = LAWS["farseer"].search_range(posterior({}), C)
    narrowed = LAWS["farseer"].search_range(posterior({"N_range": FITTED_N}), C)
    chinchilla = LAWS["chinchilla"].search_range(posterior({"N_range": FITTED_N}), C)
    for got in (old, chinchilla):
        np.testing.assert_array_equal(got[0], whole[0])
        np.testing.assert_array_equal(got[1], whole[1])
    assert narrowed[0][0] == whole[0][0] and narrowed[1][0] == whole[1][0]
    assert narrowed[1][1] < whole[1][1]


def test_far_draw_optimum_is_interior_within_the_fitted_sizes():
    """The whole range (a fit with no N_range) puts this draw's optimum at its edge, 1e16
    params; the narrowed one finds the interior minimum (5.5e8 params), unflagged."""
    whole = allocate({}, 1e20)
    assert whole["at_boundary"][0, 0] and whole["N_opt"][0, 0] > 1e15
    narrowed = allocate({"N_range": FITTED_N}, 1e20)
    assert not narrowed["at_boundary"][0, 0]
    assert 3e8 < narrowed["N_opt"][0, 0] < 1e9
    assert narrowed["L_opt"][0, 0] > whole["L_opt"][0, 0]


def test_optimum_at_the_narrowed_edge_is_flagged():
    """Fitted sizes 1e3-1e4 params: the search stops at 1e6, below this draw's optimum (5e8),
    so its N_opt is that edge and the draw is flagged at_boundary (not hidden)."""
    out = allocate({"N_range": [1e3, 1e4]}, 1e20)
    assert out["at_boundary"][0, 0]
    np.testing.assert_allclose(out["N_opt"][0, 0], 1e6, rtol=1e-9)


@pytest.fixture(scope="module")
def farseer_split_fit():
    train = splits.simulated_split("farseer", seed=0)[0]
    return bl.fit(train, law="farseer", chains=2, warmup=300, draws=300, seed=0, warn=False)


def test_farseer_split_optimum_within_the_fitted_sizes(farseer_split_fit):
    """SIMULATED Farseer split, C = 1e20 (a fitted budget): searched up to 1e16 params, 5-11%
    of the draws put N_opt there (1,667 tokens) and the interval's upper end with them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = bl.optimal_allocation(farseer_split_fit, C=[1e20], extrapolation="none")
    assert a["at_boundary"].iloc[0] <= 0.02
    assert a["N_opt_upper"].iloc[0] < 1e11
    truth = splits.simulated_optimum("farseer", [1e20])["N_opt"].iloc[0]
    assert a["N_opt_lower"].iloc[0] < 1.5 * truth and a["N_opt_upper"].iloc[0] > truth / 1.5


def test_farseer_fit_uses_its_default_target_accept(farseer_split_fit):
    assert type(LAWS["farseer"]).default_target_accept == 0.95
    assert farseer_split_fit.record.sampler.target_accept == 0.95
    assert farseer_split_fit.record.law_state == {"N_range": FITTED_N}
