"""predict's ``mean`` column under a heavy-tailed predictive: far beyond the
fitted range the "drift" model's log-normal slope scale gives a few draws with absurd losses,
and the mean (10587 at a point whose median is 1.9, from 3 of 600 draws) was returned without a
word. Now such a mean is warned, naming the quantity and rows. Runs SIMULATED (Chinchilla)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayeslaws as bl
from bayeslaws.posterior.predict import unstable_means


def test_a_mean_resting_on_one_extreme_draw_is_unstable():
    rng = np.random.default_rng(0)
    light = rng.normal(2.0, 0.05, size=(600, 2))
    heavy = light.copy()
    heavy[0, 1] = 1e4  # one draw of 600
    assert unstable_means(light).tolist() == [False, False]
    assert unstable_means(heavy).tolist() == [False, True]
    assert unstable_means(np.full((600, 1), np.nan)).tolist() == [False]


def test_light_tailed_draws_stay_below_the_bar_at_small_draws_whatever_the_ci(simulated_fit):
    """Gaussian draws of the smallest fits (2 x 50) never warn: the bar is set against the
    draws' own central 90% width, not the caller's interval (a 5% interval is a thirteenth as
    wide: against it every mean of a 600-draw fit was flagged)."""
    rng = np.random.default_rng(1)
    assert not unstable_means(rng.normal(size=(100, 2000))).any()
    _, said = _caught(lambda: bl.predict(simulated_fit, N=[3e8], D=[6e9], ci=0.05))
    assert said == []


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
