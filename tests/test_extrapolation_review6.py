"""Review 6 of the extrapolation widenings: states fitted from the runs use the fit's own
training runs (held-out runs given to prepare() leaked into the GP and the distance and drift
discrepancies); stacking leaves out forms whose fits failed their checks; a loss surface's C
range is measured as its queries' C (nominal budgets reported training runs outside the range);
a fallback of the distance discrepancy to its prior is warned and recorded; a GP whose noise sd
collapsed says it may be interpolating noise. Tiny fits of SIMULATED runs."""

from __future__ import annotations

import dataclasses
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import TRUTH

import bayeslaws as bl
from bayeslaws.laws import get_law
from bayeslaws.posterior import extrapolation as ex
from bayeslaws.posterior.extrapolation import distance, drift, gp, stacking
from bayeslaws.runs import simulate

TINY = {"likelihood": "gaussian", "chains": 1, "warmup": 100, "draws": 100, "seed": 0}
HELD_OUT = 5  # the largest size's runs, left out of the fit (chinchilla_design: 6 sizes x 5)


def _quiet_fit(runs, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(runs, warn=False, **{**TINY, **options})


def _copy(fit):
    """A copy of ``fit`` sharing its draws, with an empty cache."""
    return bl.Fit(fit.idata, fit.record, compute_model=fit.compute_model, cache={})


@pytest.fixture(scope="module")
def split_fit(simulated_runs):
    """Chinchilla fitted to ``simulated_runs`` without its largest size (25 of 30 runs)."""
    runs = simulated_runs
    largest = runs.df["N"] >= runs.df["N"].max() * 0.999
    assert largest.sum() == HELD_OUT
    return _quiet_fit(runs.exclude(largest, "held out by the test"))


def test_prepare_gp_fits_the_fits_own_runs_not_the_held_out_ones(split_fit, simulated_runs):
    """prepare(fit, "gp", whole_table) conditioned the GP on the 5 held-out runs too (30
    residuals); it now uses the 25 training runs, says the 5 others were not used, and refuses
    a table that lacks a training run."""
    fit, direct = _copy(split_fit), _copy(split_fit)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ex.prepare(fit, "gp", simulated_runs)
        gp.gp_state(direct, simulated_runs)
    assert len(fit.cache["gp"]["inputs"]) == 25
    assert len(direct.cache["gp"]["inputs"]) == 25
    own = gp.gp_state(_copy(split_fit))  # from the fit's stored runs
    np.testing.assert_array_equal(fit.cache["gp"]["residuals"], own["residuals"])
    said = [str(w.message) for w in caught if w.category.__name__ == "UnusedRunsWarning"]
    assert len(said) == 2, said
    assert said[0].startswith("prepare('gp'): 5 of the 30 runs given (row labels 5, 11")
    assert said[1].startswith("the GP discrepancy: 5 of the 30") and "NOT used" in said[1]
    lacking = simulated_runs.df.drop(index=[0, 7])
    with pytest.raises(ValueError, match=r"runs lack 2 of the fit's 25 training runs .*0, 7"):
        ex.prepare(_copy(split_fit), "gp", lacking)


def test_distance_and_drift_refits_use_the_fits_own_runs(split_fit, simulated_runs, monkeypatch):
    """distance.calibrate and drift.calibrate refitted on, and measured the reference range
    from, whatever runs they were given: with the whole table the held-out runs lay inside
    the discrepancy's range (distance 0). The scale-out refits are stubbed (no splits)."""
    seen = []

    def no_splits(runs, *args, **kwargs):
        seen.append(len(runs.df))
        return []

    monkeypatch.setattr(distance, "scale_out_splits", no_splits)
    fit = _copy(split_fit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state = distance.calibrate(fit, simulated_runs)
        drift.calibrate(fit, simulated_runs)
    assert seen == [25, 25]
    trained_C = split_fit.training_runs().df["C"]
    assert state["ranges"]["C"][1] == pytest.approx(trained_C.max(), rel=1e-12)
    held = simulated_runs.df[~simulated_runs.df.index.isin(split_fit.training_runs().df.index)]
    d = distance.distance_decades(held["N"], held["D"], held["C"], distance.ranges_of(fit))
    assert np.all(d > 0)


def test_stacking_leaves_out_a_form_that_failed_its_checks(split_fit, monkeypatch):
    """stack() fitted the other forms and weighed them unchecked (on Marin's nemotron runs an
    unconverged chinchilla_gamma took 0.98 of the weight). A form failing the bars of form
    averaging is now left out, warned with its figures and recorded. The R-hat bar is lowered
    to 0.5 so that the tiny Kaplan fit fails it."""
    monkeypatch.setattr(stacking, "MAX_R_HAT", 0.5, raising=False)
    fit = _copy(split_fit)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state = stacking.stack(fit, laws=("chinchilla", "kaplan"), chains=1, warmup=100, draws=100)
    said = [str(w.message) for w in caught if "left out" in str(w.message)]
    assert len(said) == 1 and "'kaplan'" in said[0], said
    assert "max R-hat" in said[0] and "divergent transitions" in said[0]
    assert set(state["excluded"]) == {"kaplan"} and "> 0.5" in state["excluded"]["kaplan"]
    assert state["laws"] == ["chinchilla"] and state["weights"] == {"chinchilla": 1.0}
    out = bl.predict(fit, N=[1e10], D=[2e11], kind="new_run", extrapolation="stacking")
    plain = bl.predict(fit, N=[1e10], D=[2e11], kind="new_run", extrapolation="none")
    np.testing.assert_array_equal(out["median"], plain["median"])  # the own form alone


@pytest.fixture(scope="module")
def nominal_fit(simulated_runs):
    """Chinchilla on ``simulated_runs`` whose C is a nominal budget, 1.1 x 6ND at the smallest
    run down to 0.8 x at the largest (as Marin's bundled tables, 0.74-1.07; the simulated
    losses are those of N and D)."""
    runs = simulated_runs
    nominal = runs.df["C"] * np.linspace(1.1, 0.8, len(runs.df))
    return _quiet_fit(dataclasses.replace(runs, df=runs.df.assign(C=nominal)))


def test_training_runs_of_a_nominal_budget_table_lie_inside_the_c_range(nominal_fit):
    """A loss surface is asked at C = 6ND, but its C range was the runs' nominal budgets: its
    own training runs, asked by N and D, came out outside it (here the smallest and the
    largest, 0.097 decades; 0.13 on Marin), and the drift widened them as extrapolations. The
    range is now that of 6ND."""
    runs = nominal_fit.training_runs().df
    flops = nominal_fit.compute_model.flops(runs["N"], runs["D"])
    assert distance.group_ranges(nominal_fit)["C"] == [flops.min(), flops.max()]
    assert distance.ranges_of(nominal_fit)["C"][1] == pytest.approx(flops.max(), rel=1e-12)
    N, D = runs["N"].to_numpy(), runs["D"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = bl.predict(nominal_fit, N=N, D=D)
        drifted = bl.predict(nominal_fit, N=N, D=D, extrapolation="drift", seed=1)
    assert np.all(out["C_outside_decades"] == 0.0)
    ranges = distance.group_ranges(nominal_fit)  # the drift's distances at the runs: none
    assert np.all(drift.axis_distances(N, D, flops, ranges) == 0.0)
    # inside the range the drift is 0: "drift" is the law plus the GP pattern there, the same
    # at the smallest and largest runs (C nominally outside before) as at the others
    width = np.log(drifted["upper"] / drifted["lower"]) / np.log(out["upper"] / out["lower"])
    edges = [int(np.argmin(flops)), int(np.argmax(flops))]
    assert width.iloc[edges].max() < 1.05 * np.delete(width.to_numpy(), edges).max()


def test_c_range_is_the_runs_own_where_c_is_flops_or_a_law_input(simulated_fit):
    """A table whose C is 6ND keeps the fitted range itself (the same object: predictions are
    unchanged), and a law that takes C (isoflop, indexed by the budget) keeps the runs' C."""
    assert distance.group_ranges(simulated_fit) is simulated_fit.record.ranges
    assert distance.stored_queried_flops(simulated_fit) is None
    N, D = np.array([1e8, 1e9]), np.array([1e10, 1e11])
    nominal = 0.8 * 6 * N * D
    model = simulated_fit.compute_model
    assert distance.queried_flops(get_law("isoflop"), model, N, D, nominal) is None
    np.testing.assert_allclose(
        distance.queried_flops(get_law("chinchilla"), model, N, D, nominal), 6 * N * D
    )


def test_a_discrepancy_with_no_inner_split_falls_back_to_its_prior_warned_and_recorded():
    """8 runs (4 sizes x 2 token counts): no inner scale-out split passes its rules, and the
    scales silently came from their prior. Now warned once and recorded."""
    N, D = (a.ravel() for a in np.meshgrid(np.geomspace(1e8, 1e9, 4), [2e9, 2e10]))
    df = simulate.simulate_chinchilla_runs({**TRUTH, "N": N, "D": D}, noise_sd=0.01, seed=1)
    fit = _quiet_fit(bl.load_runs(df.drop(columns=["source"])))
    query = {"N": [1e10, 1e11], "D": [2e11, 2e12], "kind": "new_run"}
    with pytest.warns(UserWarning, match=r"no learned discrepancy scales .*no inner scale-out"):
        bl.predict(fit, extrapolation="discrepancy", **query)
    assert "no inner scale-out split" in fit.cache["unavailable"]["distance"]
    assert fit.cache["distance"]["source"] == "prior"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per fit
        bl.predict(fit, extrapolation="discrepancy", **query)


def _grid_runs():
    N, D = (a.ravel() for a in np.meshgrid(np.geomspace(5e7, 5e9, 8), np.geomspace(1e9, 1e11, 6)))
    return N, D


def test_a_gp_whose_noise_collapsed_says_it_may_interpolate_noise():
    """Pure-noise residuals (sd 0.01) at 48 runs: with seed 0 the GP's MAP noise sd falls to
    1e-5 and the GP interpolates the noise. Its numbers are kept; a warning names the fitted
    noise and lengthscales, and the state keeps the note. Seed 1 (noise 0.0077): no note."""
    N, D = _grid_runs()
    fit = SimpleNamespace(groups=["all"])  # a fit without groups: one GP
    runs = SimpleNamespace(df=pd.DataFrame({"N": N, "D": D}))
    collapsed = 0.01 * np.random.default_rng(0).standard_normal(N.size)
    with pytest.warns(UserWarning, match=r"fitted noise sd 1\.\d+e-05.*lengthscales.*interpol"):
        state = gp.fit_state(fit, runs, collapsed)
    assert state["noise"] == gp.fit_gp(N, D, collapsed)["noise"]  # the GP's numbers unchanged
    assert "interpolating run-to-run noise" in state["noise_note"]
    healthy = 0.01 * np.random.default_rng(1).standard_normal(N.size)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gp.fit_state(fit, runs, healthy)["noise_note"] is None
    unconverged = dict(gp.fit_gp(N, D, healthy), converged=False)
    assert "did not converge" in gp.noise_note(unconverged)
