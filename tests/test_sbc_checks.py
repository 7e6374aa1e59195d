"""SBC's rank test and argument checks (posterior.calibration): no sampling here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayeslaws.posterior import calibration as cal


def test_rank_uniformity_rejects_uniform_ranks_at_its_nominal_rate():
    """Ranks 0..50 take 51 values: five equal-width bins hold 10, 10, 11, 10, 10 of them, so
    equal expected counts rejected exactly uniform ranks 14% of the time at the 5% level."""
    rng = np.random.default_rng(0)
    pvalues = np.array([cal.rank_uniformity(rng.integers(0, 51, 1000), 50) for _ in range(2000)])
    rate = np.mean(pvalues < 0.05)
    assert abs(rate - 0.05) < 0.015, rate  # Monte Carlo sd of the rate: 0.005
    # an exactly uniform sample fits perfectly
    assert cal.rank_uniformity(np.tile(np.arange(51), 40), 50) == pytest.approx(1.0)


@pytest.mark.parametrize("ranks, n_draws, bins, word", [
    ([0, 51], 50, 5, "ranks must be integers in 0..50"),
    ([0, -1], 50, 5, "ranks must be integers"),
    ([0.5, 1], 50, 5, "ranks must be integers"),
    ([0, 1], 3, 5, "bins=5 is more than the 4 rank values"),
    ([0, 1], 0, 5, "n_draws"),
])
def test_rank_uniformity_refuses_ranks_it_would_drop(ranks, n_draws, bins, word):
    with pytest.raises(ValueError, match=word):
        cal.rank_uniformity(np.array(ranks), n_draws, bins)


@pytest.mark.parametrize("options, word", [
    ({"thin": 0}, "thin must be an integer >= 1"),
    ({"thin": -1}, "thin must be an integer >= 1"),
    ({"thin": 500, "draws": 200}, "thin=500 keeps no draw"),
    # 2 of 40 draws kept: 3 rank values, fewer than the test's 5 bins (found after every fit)
    ({"thin": 20, "draws": 40, "chains": 1}, "thin=20 keeps 2 of .* fewer than the uniformity"),
    ({"params": ["nope"]}, "params: \\['nope'\\] are not parameters"),
    ({"design": pd.DataFrame({"N": [1e8]})}, "design must be a DataFrame with columns N and D"),
])
def test_sbc_items_checks_its_arguments_by_name(options, word):
    with pytest.raises(ValueError, match=word):
        cal.sbc_items("chinchilla", n_sims=1, **options)


def test_sbc_items_takes_a_design_of_sizes_alone():
    """The docstring asks for columns N and D; a loss column was needed (KeyError)."""
    N, D = np.meshgrid(np.logspace(8, 9, 3), np.logspace(9.5, 10.5, 3))
    items = cal.sbc_items("chinchilla", n_sims=2, design=pd.DataFrame({"N": N.ravel(),
                                                                       "D": D.ravel()}))
    assert len(items) == 2 and items[0].loss.shape == (9,) and np.all(items[0].loss > 0)


def test_sbc_rank_reports_the_bulk_ess_fits_report():
    """min_ess was NumPyro's plain ESS (55.8 where ArviZ's bulk ESS, what a fit's diagnostics
    report and the docstring promises, was 33.7)."""
    import arviz as az

    from bayeslaws.inference import fit as fit_law
    from bayeslaws.runs import load_runs

    (item,) = cal.sbc_items("chinchilla", n_sims=1, chains=1, draws=100, seed=0)
    row = cal.sbc_rank(item)
    fitted = fit_law(load_runs(item.design.assign(loss=item.loss)), law=item.law, **item.options)
    bulk = az.ess(fitted.idata, var_names=list(item.truth), method="bulk")
    assert row["min_ess"] == pytest.approx(min(float(bulk[p]) for p in item.truth), rel=1e-9)
