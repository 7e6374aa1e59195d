"""The sampler check at few draws (SIMULATED chains): below the smallest size its bars were
studied at (2 x 150 = 300 draws in all) the bars loosen no further and the fit is told its draws
are too few to judge convergence; at and above it the bars are unchanged. An R-hat that is NaN
with several chains is called undefined, not "one chain"."""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.inference import diagnostics as diag
from bayeslaws.inference.diagnostics import Diagnostics, SamplerWarning


def iid_idata(chains, draws, shift=0.0, seed=0):
    """Independent N(0, 1) draws of one parameter ``theta``, chain 0 moved by ``shift`` sd."""
    x = np.random.default_rng(seed).normal(size=(chains, draws))
    x[0] += shift
    stats = {
        "diverging": np.zeros((chains, draws), bool),
        "n_steps": np.full((chains, draws), 7),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ArviZ: "more chains than draws" at one draw
        return az.from_dict(posterior={"theta": x}, sample_stats=stats)


def test_a_chain_stuck_2_sd_away_is_flagged_at_4_x_10_draws():
    """4 x 10 draws, chain 0 shifted 2 sd: R-hat ~1.4 passed the old bar 1.75 (1 + 30/40)."""
    with pytest.warns(SamplerWarning, match=r"R-hat > 1\.1 for \['theta'\]"):
        d = diag.check(iid_idata(4, 10, shift=2.0), ["theta"])
    assert d.rhat_bar == pytest.approx(1.10) and d.max_r_hat > 1.1
    assert any(p.startswith("R-hat > 1.1") for p in d.problems)


def test_bars_stop_loosening_below_the_smallest_studied_size_and_are_unchanged_above():
    """At and above 2 x 150 draws the documented bars (diagnostics_thresholds.txt); below, the
    bars at 300 draws: R-hat at most 1.10 and ESS at least 30 (they were 4.0 and 1 at 2 x 5)."""
    studied = {(2, 150): (1.10, 30), (2, 300): (1.05, 60), (4, 150): (1.05, 60),
               (4, 500): (1.015, 200), (4, 1000): (1.01, 400)}  # fmt: skip
    for (chains, draws), bars in studied.items():
        assert diag.thresholds(chains, chains * draws) == pytest.approx(bars)
    for chains, draws in [(2, 5), (2, 1), (4, 10), (1, 30), (2, 149)]:
        assert diag.thresholds(chains, chains * draws) == pytest.approx((1.10, 30))
    assert diag.thresholds(1, 0) == pytest.approx((1.10, 30))


def test_fewer_draws_than_studied_is_a_problem_naming_the_count_and_the_studied_size():
    """Healthy chains of 2 x 100 draws pass every bar but are still too few to judge; healthy
    2 x 150 draws have no problem."""
    with pytest.warns(SamplerWarning, match=r"200 draws in all \(2 chains x 100\) are too few"):
        d = diag.check(iid_idata(2, 100, seed=1), ["theta"])
    assert len(d.problems) == 1, d.problems  # no advice about target_accept for healthy chains
    assert "too few to judge convergence" in d.problems[0]
    assert "300 draws in all (2 x 150)" in d.problems[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", SamplerWarning)
        enough = diag.check(iid_idata(2, 150, seed=1), ["theta"])
    assert enough.ok, enough.problems


def test_a_fit_of_2_x_5_draws_warns(simulated_runs):
    """bl.fit with chains=2, warmup=5, draws=5 (SIMULATED runs): it passed silently (bar 4.0)."""
    with pytest.warns(SamplerWarning, match=r"10 draws in all \(2 chains x 5\) are too few"):
        fit = bl.fit(
            simulated_runs, likelihood="gaussian", seed=0, chains=2, warmup=5, draws=5,
            progress_bar=False,
        )  # fmt: skip
    assert not fit.diagnostics.ok
    assert "see fit.diagnostics" in repr(fit)


def test_an_undefined_r_hat_with_several_chains_is_not_called_one_chain():
    """2 chains x 1 draw: R-hat is NaN, and with two chains that is "undefined", not "one
    chain"; the chain count is kept in the record (old records without it still load)."""
    with pytest.warns(SamplerWarning, match="R-hat or ESS undefined"):
        d = diag.check(iid_idata(2, 1), ["theta"])
    assert np.isnan(d.max_r_hat) and d.n_chains == 2
    assert "one chain" not in d.r_hat_text and "undefined" in d.r_hat_text
    assert Diagnostics(**d.to_dict()).r_hat_text == d.r_hat_text
    one = Diagnostics(float("nan"), 50.0, 50.0, 0, 300, n_chains=1)
    assert "one chain" in one.r_hat_text
    old = {k: v for k, v in d.to_dict().items() if k != "n_chains"}
    assert "n/a" in Diagnostics(**old).r_hat_text  # chain count unknown
