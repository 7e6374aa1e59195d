"""The GP discrepancy of a grouped fit is one GP per fitted group, on that group's own residuals:
a group's predictions do not move with another group's runs; a new group gets the GP's prior;
a group with too few runs falls back (warned); a pooled state saved before is refitted."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import TRUTH, chinchilla_design

import bayeslaws as bl
from bayeslaws.posterior.draws import log_loss_draws, query_frame
from bayeslaws.posterior.extrapolation import distance, gp
from bayeslaws.runs import simulate

QUERY = {"N": [1e8, 1e9, 4e10], "D": [3e9, 2e10, 2e12]}  # in range, in range, far beyond


@pytest.fixture(scope="module")
def groups_fit():
    """SIMULATED Chinchilla runs in three groups: a and b (30 runs each; b's alpha higher), c
    (4 runs: too few for a GP). Tiny: 1 chain x 150 + 150."""
    N, D = chinchilla_design()
    frames = [
        simulate.simulate_chinchilla_runs(
            {**TRUTH, "alpha": alpha, "N": N, "D": D}, noise_sd=0.01, seed=seed
        ).assign(group=g)
        for g, alpha, seed in (("a", 0.35, 1), ("b", 0.37, 2), ("c", 0.36, 3))
    ]
    frames[2] = frames[2].iloc[::8][:4]
    runs = bl.load_runs(pd.concat(frames, ignore_index=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(runs, likelihood="gaussian", seed=0, chains=1, warmup=150, draws=150)


def _copy(fit, cache=None, **record):
    """``fit`` sharing its draws, with record fields changed and the cache ``cache``."""
    changed = dataclasses.replace(fit.record, **record)
    return bl.Fit(fit.idata, changed, compute_model=fit.compute_model, cache=cache or {})


def _b_bent(fit, sign: float):
    """A copy of ``fit`` whose stored group-b runs carry a +-3% ln(D/N) pattern (the
    reviewer's construction): only group b's data differ; the posterior is the same."""
    runs = dict(fit.record.training_runs)
    N, D, loss = (np.asarray(runs[k], float) for k in ("N", "D", "loss"))
    b = np.asarray(runs["group"]) == "b"
    bend = np.where(b, sign * 0.03 * np.sin(1.5 * np.log(D / N / 20.0)), 0.0)
    runs["loss"] = (loss * np.exp(bend)).tolist()
    return _copy(fit, training_runs=runs)


def _draws(fit, method, group, kind="new_run"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        query = query_frame(fit, **QUERY)
        return log_loss_draws(fit, query, kind=kind, extrapolation=method, group=group, seed=0)


@pytest.mark.parametrize("method, kind", [("gp", "new_run"), ("drift", "mean")])
def test_a_groups_prediction_does_not_move_with_another_groups_runs(groups_fit, method, kind):
    up, down = _b_bent(groups_fit, 1.0), _b_bent(groups_fit, -1.0)
    np.testing.assert_array_equal(_draws(up, method, "a", kind), _draws(down, method, "a", kind))
    b_up, b_down = (f.cache["gp"]["groups"]["b"]["residuals"] for f in (up, down))
    assert b_up != b_down  # group b's GP did see its changed runs


def test_a_fitted_groups_gp_is_the_gp_of_its_own_residuals_alone(groups_fit):
    fit = _copy(groups_fit)
    runs = fit.training_runs().df
    own = runs[runs["group"] == "a"]
    residuals = np.log(own["loss"].to_numpy()) - fit.law.fitted_log_mean(fit.posterior(), own)
    alone = gp.fit_gp(own["N"], own["D"], residuals)
    plain = _draws(fit, "none", "a")
    expected = plain + gp.draws(alone, QUERY["N"], QUERY["D"], plain.shape[0], seed=0)
    np.testing.assert_allclose(_draws(fit, "gp", "a"), expected, rtol=0, atol=1e-12)
    assert len(fit.cache["gp"]["groups"]["a"]["residuals"]) == len(own) == 30


def test_a_new_group_gets_the_gps_prior_with_the_largest_groups_eta_warned_once(groups_fit):
    fit = _copy(groups_fit)
    query = query_frame(fit, **QUERY)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        widened = log_loss_draws(fit, query, kind="new_run", group=None, seed=0)
        log_loss_draws(fit, query, kind="new_run", group=None, seed=1)
    said = [str(w.message) for w in caught if "no learned GP pattern" in str(w.message)]
    assert len(said) == 1 and "new, unseen group" in said[0] and "GP's prior" in said[0], said
    etas = [s["eta"] for s in fit.cache["gp"]["groups"].values() if s]
    assert len(etas) == 2  # a and b; c has too few runs
    prior = gp.prior_state(max(etas))
    plain = _draws(fit, "none", None)
    delta = gp.draws(prior, QUERY["N"], QUERY["D"], plain.shape[0], seed=0)
    np.testing.assert_allclose(widened, plain + delta, rtol=0, atol=1e-12)
    assert "new, unseen group" in fit.cache["unavailable"]["gp[new group]"]


def test_a_group_with_too_few_runs_falls_back_to_the_distance_discrepancy_warned(groups_fit):
    fit = _copy(groups_fit, cache={"distance": distance.prior_state()})  # no scale-out refits
    with pytest.warns(UserWarning, match=r"group 'c' has 4 training runs .* distance discrepancy"):
        bl.predict(fit, **QUERY, kind="new_run", group="c", seed=0)
    assert fit.cache["gp"]["groups"]["c"] is None
    assert "4 training runs" in fit.cache["unavailable"]["gp[c]"]


def test_a_pooled_gp_state_saved_with_a_grouped_fit_is_refitted_per_group(groups_fit):
    stored = groups_fit.record.training_runs
    pooled = gp.fit_gp(stored["N"], stored["D"], np.zeros(len(stored["N"])) + 0.01)
    fit, fresh = _copy(groups_fit, cache={"gp": pooled}), _copy(groups_fit)
    np.testing.assert_array_equal(_draws(fit, "gp", "a"), _draws(fresh, "gp", "a"))
    assert fit.cache["gp"]["method"] == gp.GROUPED
    cache = {"gp": pooled, "distance": distance.prior_state()}
    bare = _copy(groups_fit, cache=cache, training_runs=None)  # nothing to refit it from
    with pytest.warns(UserWarning, match="pools every group's residuals"):
        bl.predict(bare, **QUERY, kind="new_run", group="a", seed=0)
