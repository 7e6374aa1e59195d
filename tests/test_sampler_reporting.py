"""Sampler health is checked and kept wherever NUTS runs: the maximum tree depth in every fit's
diagnostics, the scale-out refits behind the extrapolation widening, and the histories of the
simulated campaign and of the replay."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from bayeslaws.inference import diagnostics as diag
from bayeslaws.inference.diagnostics import SamplerWarning

NAMES = [f"p{k}" for k in range(4)]


def healthy_idata(chains=2, draws=300, n_steps=None, tree_depth=None, seed=0):
    """Independent draws (ESS ~ 1 per draw) of 4 parameters, with the given sample stats
    (arrays (chains, draws)) beside ``diverging``."""
    import arviz as az

    rng = np.random.default_rng(seed)
    posterior = {name: rng.standard_normal((chains, draws)) for name in NAMES}
    stats = {"diverging": np.zeros((chains, draws), bool)}
    if n_steps is not None:
        stats["n_steps"] = n_steps
    if tree_depth is not None:
        stats["tree_depth"] = tree_depth
    return az.from_dict(posterior=posterior, sample_stats=stats)


def steps_at_cap(share, chains=2, draws=300, cap=10):
    """Leapfrog steps per draw: 15 (depth 4), and 2**cap - 1 for the first ``share`` of them."""
    steps = np.full(chains * draws, 15)
    steps[: int(round(share * steps.size))] = 2**cap - 1
    return steps.reshape(chains, draws)


def test_draws_at_the_maximum_tree_depth_are_a_problem_with_fitting_advice():
    """5% of the draws at depth 10 (1023 leapfrog steps) of otherwise healthy chains: a
    problem naming the depth and the share, advising reparametrisation, a longer warm-up or a
    dense mass matrix, and never a higher target_accept (it lengthens the trees)."""
    idata = healthy_idata(n_steps=steps_at_cap(0.05))
    with pytest.warns(SamplerWarning, match=r"30 of 600 draws \(5\.0%.*maximum tree depth 10"):
        d = diag.check(idata, NAMES)
    assert d.depth_share == pytest.approx(0.05)
    assert len(d.problems) == 1 and not d.ok
    text = d.problems[0]
    assert "reparametrise" in text and "dense_mass=True" in text and "warmup=" in text
    assert "higher target_accept may help" not in text
    # the same read from tree_depth alone (idata made by az.from_numpyro)
    depth = np.where(steps_at_cap(0.05) == 1023, 10, 4)
    with pytest.warns(SamplerWarning, match="maximum tree depth 10"):
        assert diag.check(healthy_idata(tree_depth=depth), NAMES).depth_share == pytest.approx(0.05)


def test_a_few_draws_at_the_maximum_depth_or_none_recorded_pass():
    """At most 1% of the draws at the cap is no problem; without n_steps or tree_depth
    (InferenceData from elsewhere) depth is not checked and its share is NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", SamplerWarning)
        few = diag.check(healthy_idata(n_steps=steps_at_cap(0.005)), NAMES)
        unknown = diag.check(healthy_idata(), NAMES)
    assert few.ok and few.depth_share == pytest.approx(0.005)
    assert unknown.ok and np.isnan(unknown.depth_share)


def test_fits_record_their_depth_share_and_old_records_still_load(simulated_fit):
    """A fit's diagnostics hold the share of its draws at the cap (read from its n_steps); a
    record saved before the field existed loads with the share unknown (NaN)."""
    from bayeslaws.inference.fit import Fit

    steps = simulated_fit.idata.sample_stats["n_steps"].values
    assert simulated_fit.diagnostics.depth_share == pytest.approx(np.mean(steps >= 1023))
    assert simulated_fit.record.diagnostics["depth_share"] == simulated_fit.diagnostics.depth_share
    old = {k: v for k, v in simulated_fit.record.diagnostics.items() if k != "depth_share"}
    loaded = Fit(simulated_fit.idata, replace(simulated_fit.record, diagnostics=old))
    assert np.isnan(loaded.diagnostics.depth_share)
    assert loaded.diagnostics.max_r_hat == simulated_fit.diagnostics.max_r_hat


def test_scale_out_refits_are_checked_kept_and_warned(simulated_runs):
    """Refits too short to converge (2 chains x 3 warm-up + 30 draws): each split's
    diagnostics are kept in the discrepancy state (JSON-able, saved with the fit), and one
    SamplerWarning names the method whose scales they set and every failed split."""
    import bayeslaws as bl
    from bayeslaws.posterior.extrapolation import distance

    fit = bl.fit(simulated_runs, likelihood="gaussian", chains=2, warmup=60, draws=60, warn=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state = distance.calibrate(fit, chains=2, warmup=3, draws=30, seed=0)
    refits = state["refit_diagnostics"]
    assert [d["split"] for d in refits] == [f["split"] for f in state["folds"]]
    assert len(refits) >= 2
    for d in refits:
        assert d["n_draws"] == 60 and d["min_ess_bulk"] > 0 and d["divergences"] >= 0
    failed = [d for d in refits if d["problems"]]
    assert failed  # 3 warm-up iterations: no adapted step size
    messages = [str(w.message) for w in caught if issubclass(w.category, SamplerWarning)]
    assert len(messages) == 1
    assert 'methods "discrepancy", "discrepancy_t"' in messages[0]
    assert all(f"split {d['split']}: max R-hat" in messages[0] for d in failed)
    assert json.loads(json.dumps(fit.cache.get("distance"))) is not None
    assert distance.variant_state(state, "student_t")["refit_diagnostics"] == refits


def test_refit_trouble_is_silent_when_every_refit_passed():
    """No warning text when no split has problems; one naming the failed split otherwise."""
    from bayeslaws.posterior.extrapolation import distance

    good = {"split": "C<=10^20", "problems": [], "max_r_hat": 1.0, "rhat_bar": 1.05}
    bad = {
        **good,
        "split": "N<=10^9",
        "problems": ["R-hat > 1.05 for ['a']"],
        "max_r_hat": 1.3,
        "min_ess_bulk": 7.0,
        "ess_bar": 60.0,
        "divergences": 2,
        "n_draws": 600,
    }
    assert distance.refit_trouble([good], "x") is None
    text = distance.refit_trouble([good, bad], "widening")
    assert text.startswith("widening: 1 of 2") and "split N<=10^9: max R-hat 1.3 " in text


def test_simulated_campaign_keeps_and_warns_sampler_trouble():
    """Four start runs fitted by 2 x 50 + 50 draws fail the checks: every history row holds
    the fit's max R-hat, min bulk ESS and sampler_ok (appended after the older columns, so
    stored CSVs keep their order), and one SamplerWarning names the fit."""
    from bayeslaws.app import campaign

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = campaign.simulate_campaign(
            "random", [0], max_steps=0, fit_options={"chains": 2, "warmup": 50, "draws": 50}
        )
    h = res.history
    older = ["strategy", "seed", "step", "n_runs", "cumulative_flops", "divergences", "target"]
    assert list(h.columns[: len(older)]) == older
    assert list(h.columns[-3:]) == ["max_r_hat", "min_ess_bulk", "sampler_ok"]
    assert not h["sampler_ok"].any() and (h["max_r_hat"] > 1.01).all()
    messages = [str(w.message) for w in caught if issubclass(w.category, SamplerWarning)]
    assert len(messages) == 1 and "1 of 1 fits failed" in messages[0]
    assert "random seed 0 step 0: max R-hat" in messages[0]


def test_replay_history_rows_keep_ess_and_sampler_ok():
    """A replay history row ends with the older divergences, max_r_hat, seconds, then the fit's
    min bulk ESS and sampler_ok (SIMULATED isoFLOP pool)."""
    from bayeslaws.app import replay
    from bayeslaws.posterior import splits

    train, held = splits.simulated_split(
        "correct", seed=3, n_per_budget=5, fit_budgets=(1e18, 1e19, 1e20), test_budgets=(1e21,)
    )
    pool = replay.isoflop_pool("tiny (SIMULATED)", train, held.assign(C=1e21), simulated=True)
    pool.start_size = 6
    options = {"chains": 2, "warmup": 60, "draws": 60}
    start = replay.fit_start(pool, 0, options)
    steps = replay.campaign_steps(pool, "random", 0, start, budgets=(), options=options)
    ((row, _),) = list(steps)
    keys = list(row)
    kept = keys[keys.index("divergences") : keys.index("sampler_ok") + 1]  # new columns follow
    assert kept == ["divergences", "max_r_hat", "seconds", "min_ess_bulk", "sampler_ok"]
    fit = start[1]
    assert row["min_ess_bulk"] == fit.diagnostics.min_ess_bulk
    assert row["sampler_ok"] == fit.diagnostics.ok
    assert isinstance(pd.DataFrame([row])["sampler_ok"].iloc[0], np.bool_ | bool)


def test_drift_rate_refits_are_kept_and_named(simulated_runs):
    """The drift rate's scale-out refits (methods "drift" and "model") keep their diagnostics
    in the drift state and the warning names what they set."""
    import bayeslaws as bl
    from bayeslaws.posterior.extrapolation import drift

    fit = bl.fit(simulated_runs, likelihood="gaussian", chains=2, warmup=60, draws=60, warn=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state = drift.calibrate(fit, chains=2, warmup=3, draws=30, seed=0)
    refits = state["refit_diagnostics"]
    assert [d["split"] for d in refits] == state["splits"]
    messages = [str(w.message) for w in caught if issubclass(w.category, SamplerWarning)]
    assert len(messages) == 1 and 'the drift rate of methods "drift"' in messages[0]


def test_diagnostics_of_large_float32_draws_raise_no_overflow():
    """Kaplan's N_c and D_c are ~1e14: ArviZ squared the float32 draws, overflowed, and every
    healthy Kaplan fit printed six RuntimeWarnings (overflow, invalid value) with a NaN mcse_sd
    (R8). The summary is now taken in float64."""
    import arviz as az

    rng = np.random.default_rng(0)
    draws = (8.9e13 * np.exp(0.01 * rng.standard_normal((2, 300)))).astype(np.float32)
    stats = {"diverging": np.zeros((2, 300), bool), "n_steps": np.full((2, 300), 7)}
    idata = az.from_dict(posterior={"N_c": draws}, sample_stats=stats)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        found = diag.check(idata, ["N_c"], warn=False)
    assert found.max_r_hat < 1.02 and found.min_ess_bulk > 300
