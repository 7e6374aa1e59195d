"""predict's ``mean`` column under a heavy-tailed predictive (review 13, RD F1): far beyond the
fitted range the "drift" model's log-normal slope scale gives a few draws with absurd losses,
and the mean (10587 at a point whose median is 1.9, from 3 of 600 draws) was returned without a
word. Now such a mean is warned, naming the quantity and rows. Runs SIMULATED (Chinchilla)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.posterior.predict import MEAN_MCSE_SHARE, unstable_means


def test_a_mean_resting_on_one_extreme_draw_is_unstable():
    rng = np.random.default_rng(0)
    light = rng.normal(2.0, 0.05, size=(600, 2))
    heavy = light.copy()
    heavy[0, 1] = 1e4  # one draw of 600
    lo, hi = np.quantile(heavy, [0.05, 0.95], axis=0)
    assert unstable_means(light, *np.quantile(light, [0.05, 0.95], axis=0)).tolist() == [
        False,
        False,
    ]
    assert unstable_means(heavy, lo, hi).tolist() == [False, True]
    nan = np.full((600, 1), np.nan)
    assert unstable_means(nan, [np.nan], [np.nan]).tolist() == [False]


def test_light_tailed_draws_stay_below_the_bar_at_small_draws():
    """The bar against noise alone: Gaussian draws' MCSE is about 1 / (3.3 sqrt(S)) of the 90%
    width, well below MEAN_MCSE_SHARE at the smallest fits (2 x 50 draws)."""
    rng = np.random.default_rng(1)
    draws = rng.normal(size=(100, 2000))
    lo, hi = np.quantile(draws, [0.05, 0.95], axis=0)
    assert not unstable_means(draws, lo, hi).any()
    assert 1 / (3.29 * np.sqrt(100)) < MEAN_MCSE_SHARE / 3


def _caught(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = call()
    return out, [str(w.message) for w in caught if "extreme draws" in str(w.message)]


def test_predict_warns_of_a_drift_mean_far_out_and_not_inside(simulated_fit):
    """Two decades beyond the fitted N and three beyond D, "drift" draws a loss 1e4-fold its
    median; inside the range, and without the drift, nothing is said."""
    query = {"N": [3e8, 1e12], "D": [6e9, 1e14]}
    table, said = _caught(lambda: bl.predict(simulated_fit, **query, extrapolation="drift"))
    assert table["mean"].iloc[1] > 10 * table["upper"].iloc[1]  # the case itself
    assert len(said) == 1 and "the mean of loss at rows 1 rests on a few" in said[0], said
    _, none_said = _caught(lambda: bl.predict(simulated_fit, **query, extrapolation="none"))
    assert none_said == []


def test_the_rows_are_named_by_the_callers_labels(simulated_fit):
    pd = pytest.importorskip("pandas")
    N = pd.Series([3e8, 1e12], index=["small", "far"])
    D = pd.Series([6e9, 1e14], index=["small", "far"])
    _, said = _caught(lambda: bl.predict(simulated_fit, N=N, D=D, extrapolation="drift"))
    assert len(said) == 1 and "at rows far rests" in said[0], said
