"""The isoFLOP law's observations (what run planning scores candidates with) describe the outcome
``draws(kind="new_run")`` draws: with per-run offsets each candidate is a new training run whose
offset (variance run_sd^2) is an unknown level of its own; without offsets nothing changes
(hand-made posteriors, and one tiny SIMULATED fit with run labels)."""

from __future__ import annotations

import warnings

import numpy as np
import numpyro.distributions as dist
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.design.gaussian import setup
from bayeslaws.laws.contract import Posterior, Scales
from bayeslaws.laws.isoflop import LAW
from bayeslaws.runs import PlausibilityWarning, simulate

BUDGET = 1e18  # FLOPs, the hand-made posteriors' one fitted budget
SCALES = Scales({"N": np.log(3e8), "C": np.log(BUDGET), "loss": 1.0})
CANDIDATES = pd.DataFrame({"N": [1e8, 3e8, 1e9], "C": BUDGET, "unit": ["a", "a", "b"]})
TINY = {"chains": 1, "warmup": 150, "draws": 150, "dense_mass": False, "warn": False}


def hand_made(S: int, *, run_sd=None, likelihood: str = "gaussian", seed: int = 0) -> Posterior:
    """A posterior of S draws with one fitted budget (``BUDGET``) whose vertex, level and
    curvature vary by draw; sigma 0.01 per draw; ``run_sd`` (S,) draws or None (no offsets);
    nu ~ 4 for Student-t."""
    rng = np.random.default_rng(seed)
    draws = {
        "n0": np.zeros(S),
        "a_opt": np.full(S, 0.5),
        "l0": np.zeros(S),
        "a_L": np.full(S, -0.05),
        "vertex_sd": np.full(S, 0.1),
        "loss_sd": np.full(S, 0.01),
        "log_h0": np.full(S, -3.0),
        "log_h1": np.zeros(S),
        "h_sd": np.full(S, 0.1),
        "v": rng.normal(0.0, 0.2, (S, 1)),
        "m": rng.normal(0.0, 0.01, (S, 1)),
        "log_h": rng.normal(-3.0, 0.1, (S, 1)),
        "sigma": np.full(S, 0.01),
    }
    if run_sd is not None:
        draws["run_sd"] = np.asarray(run_sd, float)
    if likelihood == "student_t":
        draws["nu"] = rng.uniform(3.0, 5.0, S)
    return Posterior(draws, SCALES, (None,), {"budgets": [BUDGET]}, likelihood)


def implied_covariance(obs) -> np.ndarray:
    """(R, R) covariance of the outcomes an Observations (Gaussian family) describes, read from
    the contract: the spread of ``mean`` over draws, the noise ``sigma^2`` (posterior mean) on
    the diagonal, and each unknown level's ``nuisance``: shared by the rows of one level id >= 0,
    a row's own for -1."""
    mean = np.asarray(obs.mean, float)
    S, R = mean.shape
    sigma = np.broadcast_to(np.asarray(obs.sigma, float).reshape(S, -1), (S, R))
    cov = np.cov(mean, rowvar=False) + np.diag(np.mean(sigma**2, axis=0))
    nuisance = np.asarray(obs.nuisance, float)
    if obs.level is None:
        assert np.all(nuisance == 0)
        return cov
    level = np.asarray(obs.level)
    for r in range(R):
        for q in range(R):
            if r == q or (level[r] >= 0 and level[r] == level[q]):
                cov[r, q] += max(nuisance[r], nuisance[q])
    return cov


def new_run_covariance(law, post, candidates, seed: int = 1) -> np.ndarray:
    """(R, R) empirical covariance of the centred ln loss ``draws(kind="new_run")`` draws."""
    rng = np.random.default_rng(seed)
    loss = law.draws(post, candidates, kind="new_run", group=None, rng=rng)["loss"]
    return np.cov(np.log(loss), rowvar=False)


def test_observations_carry_the_new_run_offset_the_law_predicts():
    """run_sd ~ 0.05 >> sigma = 0.01: the observations said each candidate scatters with sigma
    alone (nuisance 0), ~5x less than ``new_run`` draws; now their implied covariance is the
    new-run draws' within Monte Carlo error (each candidate its own offset: no covariance
    between candidates beyond the curves')."""
    S = 40_000
    run_sd = np.abs(np.random.default_rng(5).normal(0.05, 0.015, S))
    post = hand_made(S, run_sd=run_sd)
    obs = LAW.observations(post, CANDIDATES, group=None, rng=np.random.default_rng(0))
    implied = implied_covariance(obs)
    empirical = new_run_covariance(LAW, post, CANDIDATES)
    # Monte Carlo sd of a sample (co)variance: ~ sqrt((var_r var_q + cov_rq^2) / S)
    d = np.diag(empirical)
    mc_sd = np.sqrt((np.outer(d, d) + empirical**2) / S)
    assert np.all(np.abs(implied - empirical) < 5 * mc_sd), (implied, empirical)
    # the offsets' share is what the old observations missed: larger than the noise's
    assert np.all(np.diag(empirical) - np.diag(np.cov(obs.mean, rowvar=False)) > 10 * 0.01**2)


def test_without_run_offsets_observations_are_unchanged():
    """No ``run_sd`` (a fit without a run column): the curves' mean, the likelihood's sigma and
    nu, no nuisance and no level ids, as before. The mean is the parabola itself,
    m + h (ln N - ln N_ref - v)^2 on the centred scale."""
    post = hand_made(200, likelihood="student_t", seed=3)
    obs = LAW.observations(post, CANDIDATES, group=None, rng=np.random.default_rng(0))
    x = np.log(CANDIDATES["N"].to_numpy(float)) - SCALES["N"]
    d = post.draws
    parabola = d["m"] + np.exp(d["log_h"]) * (x[None, :] - d["v"]) ** 2
    np.testing.assert_allclose(obs.mean, parabola, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(obs.sigma, d["sigma"])
    np.testing.assert_array_equal(obs.nu, d["nu"])
    assert obs.family == "student_t"
    np.testing.assert_array_equal(obs.nuisance, np.zeros(len(CANDIDATES)))
    assert obs.level is None
    np.testing.assert_array_equal(obs.unit, CANDIDATES["unit"].to_numpy())


@pytest.fixture(scope="module")
def run_offset_fit():
    """A tiny isoFLOP fit with per-run offsets: 5 sizes per budget, each size one training run
    read at every budget (run labels r0..r4), free offsets."""
    runs = simulate.simulate_liang_isoflop(
        seed=4, budgets=(1e17, 3e17, 1e18, 3e18), n_per_budget=5, spread_decades=0.8
    )
    runs = runs.assign(run=[f"r{i % 5}" for i in range(len(runs))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlausibilityWarning)
        return bl.fit(
            runs, law="isoflop", likelihood="gaussian", seed=0, progress_bar=False,
            law_options={"run_offsets": "free"},
            priors={"run_sd": dist.HalfNormal(0.05)}, **TINY,
        )  # fmt: skip


def test_a_fitted_posteriors_observations_match_its_new_run_draws(run_offset_fit):
    """On a fitted posterior (its draws repeated so the Monte Carlo error is small) the
    observations' implied covariance is that of ``new_run`` draws, at a fitted and a new
    budget."""
    fit = run_offset_fit
    post = fit.posterior()
    assert "run_sd" in post.draws
    reps = 100
    big = Posterior(
        {k: np.concatenate([np.asarray(v)] * reps) for k, v in post.draws.items()},
        post.scales, post.groups, post.state, post.likelihood, post.priors,
    )  # fmt: skip
    C = [fit.record.law_state["budgets"][1], 2e18]
    cands = pd.DataFrame({"N": [2e8, 2e8], "C": C})
    obs = fit.law.observations(big, cands, group=None, rng=np.random.default_rng(0))
    implied = implied_covariance(obs)
    empirical = new_run_covariance(fit.law, big, cands)
    d = np.diag(empirical)
    mc_sd = np.sqrt((np.outer(d, d) + empirical**2) / big.n_draws)
    assert np.all(np.abs(implied - empirical) < 5 * mc_sd), (implied, empirical)


def test_design_values_a_candidate_with_its_run_offset(run_offset_fit):
    """Run planning's noise for each candidate run (diagonal noise plus its unknown levels) is
    sigma^2 plus run_sd^2 (posterior means), and the candidates of one unit (an isoFLOP line:
    separate training runs) share no offset."""
    fit = run_offset_fit
    cands = bl.design.isoflop_candidates(C=[1e18], n_per_budget=4, fit=fit).assign(unit="line")
    p = setup(fit, cands, None, 0, None, None, None)
    draws = fit.posterior().draws
    sigma, run_sd = (np.asarray(draws[k], float) for k in ("sigma", "run_sd"))  # float32 saved
    expected = np.mean(sigma**2) + np.mean(run_sd**2)
    noise = np.diag(p.noise_row[0]) + p.nuis[0]
    np.testing.assert_allclose(np.diag(noise), expected, rtol=1e-10)
    np.testing.assert_array_equal(noise - np.diag(np.diag(noise)), 0.0)
