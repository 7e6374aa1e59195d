"""Fallbacks of the extrapolation methods: ``prepare`` uses the runs it is given, and a full
model that cannot run as asked says so once per fit."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.posterior import extrapolation as ex


def _copy(fit, drop=(), **changes):
    """A copy of ``fit`` sharing its draws, without the cache entries ``drop``, with record
    fields changed (``training_runs=None``: a fit that holds no training runs)."""
    record = dataclasses.replace(fit.record, **changes)
    cache = {k: fit.cache[k] for k in fit.cache.keys() if k not in drop}
    return bl.Fit(fit.idata, record, compute_model=fit.compute_model, cache=cache)


STATES = ("gp", "distance", "distance_after_gp", "unavailable")


def test_prepare_gp_fits_the_gp_to_the_runs_given_when_the_fit_stores_none(
    simulated_fit, simulated_runs
):
    bare = _copy(simulated_fit, drop=STATES, training_runs=None)
    ex.prepare(bare, "gp", runs=simulated_runs)
    assert "gp" in bare.cache
    stored = ex.gp.gp_state(_copy(simulated_fit, drop=STATES))  # from the fit's stored runs
    np.testing.assert_allclose(bare.cache["gp"]["residuals"], stored["residuals"], atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback to the distance discrepancy's prior
        out = bl.predict(bare, N=[1e9, 3e10], D=[2e10, 6e11], kind="new_run", seed=0)
    assert np.all(out["upper"] > out["lower"])
    assert "unavailable" not in bare.cache


def test_prepare_drift_fits_its_gp_pattern_to_the_runs_given(simulated_fit, simulated_runs):
    bare = _copy(simulated_fit, drop=STATES, training_runs=None)
    ex.prepare(bare, "drift", runs=simulated_runs)
    assert "gp" in bare.cache
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "no GP pattern" fallback
        # (the drift's heavy upper tail makes the mean unstable a decade out: said, not a fallback)
        warnings.filterwarnings("ignore", message=".*rests on a few extreme draws")
        bl.predict(bare, N=[3e10], D=[6e11], kind="new_run", seed=0, extrapolation="drift")


def test_prepare_gp_with_too_few_runs_learns_the_fallback_scales_from_them(
    simulated_fit, simulated_runs, monkeypatch
):
    """Too few runs for the GP: widen() falls back to the distance discrepancy, whose scales
    prepare() learns from the runs given (not from the prior the bare fit would use)."""
    few = bl.load_runs(simulated_runs.df[["N", "D", "loss"]].iloc[: ex.MIN_GP_RUNS - 1])
    seen = []

    def calibrate(fit, runs=None, **options):  # stands in for the scale-out NUTS refits
        seen.append((runs, options))
        fit.cache["distance"] = {"source": "stub"}
        return fit.cache["distance"]

    monkeypatch.setattr(ex.distance, "calibrate", calibrate)
    bare = _copy(simulated_fit, drop=STATES, training_runs=None)
    ex.prepare(bare, "gp", runs=few, seed=3, refits={"chains": 1})
    assert "gp" not in bare.cache
    assert len(seen) == 1 and seen[0][0] is few
    assert seen[0][1] == {"seed": 3, "chains": 1}
    assert ex.gp_unavailable(bare, few).startswith(f"{ex.MIN_GP_RUNS - 1} runs were given")


def test_grouped_fit_under_model_warns_once_per_fit_and_runs_as_drift(grouped_fit):
    fit = _copy(grouped_fit, drop=("unavailable",))
    query = {"N": [1e9, 2e10], "D": [2e10, 4e11], "group": "A", "seed": 1}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = bl.predict(fit, kind="new_run", extrapolation="model", **query)
        bl.predict(fit, kind="mean", extrapolation="model", **query)
        bl.optimal_allocation(fit, C=[1e21], group="A", seed=1, extrapolation="model")
    said = [str(w.message) for w in caught if "averaging of functional forms" in str(w.message)]
    assert len(said) == 1, said
    assert "'model'" in said[0] and "several groups" in said[0] and "'drift'" in said[0]
    assert "several groups" in fit.cache["unavailable"]["forms"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        drift = bl.predict(fit, kind="new_run", extrapolation="drift", **query)
    pd.testing.assert_frame_equal(model, drift)  # what it announced it uses
    again = _copy(grouped_fit, drop=("unavailable",))  # another fit: announced again
    with pytest.warns(UserWarning, match="no averaging of functional forms"):
        bl.predict(again, kind="new_run", extrapolation="model", **query)
