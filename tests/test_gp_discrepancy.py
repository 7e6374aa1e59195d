"""The GP model discrepancy on training residuals (exact numerics, no sampling; fast)."""

from __future__ import annotations

import numpy as np
import pytest

from bayeslaws.posterior.extrapolation import gp as gpd


def _design(n=150, seed=0):
    rng = np.random.default_rng(seed)
    N = np.exp(rng.uniform(np.log(1e8), np.log(1e10), n))
    D = N * np.exp(rng.uniform(0, 4, n))
    return N, D, rng


def test_pure_noise_residuals_give_no_discrepancy():
    N, D, rng = _design()
    r = 0.01 * rng.standard_normal(N.size)
    state = gpd.fit_gp(N, D, r)
    assert state["eta"] < 0.003  # the noise sd is 0.01: no smooth pattern to find
    assert state["noise"] == pytest.approx(0.01, rel=0.2)
    mean, sd = gpd.conditional(state, [5e10], [5e12])
    assert abs(mean[0]) < 0.003 and sd[0] < 0.003


def test_a_smooth_pattern_is_recovered_and_uncertainty_grows_away_from_the_runs():
    N, D, rng = _design(seed=1)
    pattern = 0.01 * np.tanh(np.log(D / N) - 2.0)  # residual tilt in tokens per parameter
    state = gpd.fit_gp(N, D, pattern + 0.002 * rng.standard_normal(N.size))
    assert state["eta"] > 0.004
    # inside the runs' range: the smoothed pattern, with a small sd
    Nq = np.array([1e9, 1e9])
    Dq = Nq * np.exp([0.5, 3.5])
    mean, sd = gpd.conditional(state, Nq, Dq)
    truth = 0.01 * np.tanh(np.log(Dq / Nq) - 2.0)
    np.testing.assert_allclose(mean, truth, atol=0.002)
    assert np.all(sd < 0.002)
    # far outside: back to mean 0 and sd eta
    mean_far, sd_far = gpd.conditional(state, [1e14], [1e14])
    assert abs(mean_far[0]) < 1e-3
    assert sd_far[0] == pytest.approx(state["eta"], rel=0.05)
    # draws have that mean and sd
    z = gpd.draws(state, Nq, Dq, 20000, seed=3)
    np.testing.assert_allclose(z.mean(0), mean, atol=4 * sd.max() / np.sqrt(20000) + 1e-6)
    np.testing.assert_allclose(z.std(0), sd, rtol=0.05)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=">= 3 residuals"):
        gpd.fit_gp([1e9, 2e9], [1e10, 2e10], [0.0, 0.1])


def test_large_tables_fit_hyperparameters_on_a_subset_and_condition_on_all():
    N, D, rng = _design(n=500, seed=2)
    pattern = 0.01 * np.tanh(np.log(D / N) - 2.0)
    state = gpd.fit_gp(N, D, pattern + 0.002 * rng.standard_normal(N.size), max_fit_runs=120)
    assert state["hyperparameter_runs"] == 120 and len(state["residuals"]) == 500
    assert state["eta"] > 0.004 and state["noise"] == pytest.approx(0.002, rel=0.3)
    Nq = np.array([1e9, 1e9])
    mean, sd = gpd.conditional(state, Nq, Nq * np.exp([0.5, 3.5]))
    np.testing.assert_allclose(mean, 0.01 * np.tanh(np.array([0.5, 3.5]) - 2.0), atol=0.002)
    assert np.all(sd < 0.002)
