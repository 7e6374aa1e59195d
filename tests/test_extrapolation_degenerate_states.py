"""Discrepancy and GP states that degenerate say so: a distance discrepancy with no inner split
falls back to its prior (warned, recorded), its scale grid widens where its posterior piles at
the top edge (warned where it still does), a GP whose noise sd collapsed may interpolate noise.
Tiny fits and SIMULATED residuals."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import TRUTH

import bayeslaws as bl
from bayeslaws.posterior import ExtrapolationWarning
from bayeslaws.posterior.extrapolation import distance, gp
from bayeslaws.runs import simulate

TINY = {"likelihood": "gaussian", "chains": 1, "warmup": 100, "draws": 100, "seed": 0}


def _quiet_fit(runs, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(runs, warn=False, **{**TINY, **options})


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
        warnings.simplefilter("ignore", ExtrapolationWarning)  # 2 decades out: said each call
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



def _cv_data(tau1: float, seed: int = 0, n: int = 60):
    """SIMULATED scale-out CV data: residuals ~ Normal(0, v + (tau1 d)^2), v = 1e-4 (ln loss
    squared), distances d uniform in 0.2..2 decades: (residuals, variances, distances)."""
    rng = np.random.default_rng(seed)
    d = rng.uniform(0.2, 2.0, n)
    v = np.full(n, 1e-4)
    return np.sqrt(v + (tau1 * d) ** 2) * rng.standard_normal(n), v, d


def _top_edge(state) -> float:
    w = np.asarray(state["weights"])
    return float(w[-1].sum() + w[:, -1].sum() - w[-1, -1])


def test_scale_grid_widens_where_its_posterior_piles_at_the_edge():
    """True tau1 0.3 per decade (the reviewer's case): on the fixed grid [0, 0.1] 99% of the
    posterior sat on its top edge, tau1's mean 0.1, silently. Now the grid widens (0.4) until
    its edge holds < 1%, the state says how far, and nothing is warned."""
    r, v, d = _cv_data(0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        state = distance.posterior_state(r, v, d)
        t_state = distance.variant_state(state, "student_t")
    assert _top_edge(state) < 0.01  # old: 0.99
    assert state["tau1_mean"] > 0.15  # old: 0.1, the grid's top
    assert state["grid_max"] > distance.GRID_MAX and state["grid"][-1] == state["grid_max"]
    assert state["edge_mass"] == pytest.approx(_top_edge(state)) and distance.EDGE_MASS == 0.01
    assert state["edge_note"] is None
    assert _top_edge(t_state) < distance.EDGE_MASS and t_state["grid_max"] > distance.GRID_MAX
    # draws use the widened grid: tau1 draws beyond the old top
    tau0, tau1 = distance.sample_scales(state, 2000, np.random.default_rng(0))
    assert np.mean(tau1 > distance.GRID_MAX) > 0.5


def test_scale_grid_of_in_grid_data_is_as_before():
    """Residuals the grid [0, 0.1] holds (true tau1 0.03): the same grid and weights as the
    fixed grid gave (pinned by recomputing them here; passes on the code before the widening
    too), nothing warned."""
    r, v, d = _cv_data(0.03)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        state = distance.posterior_state(r, v, d)
    g = np.linspace(0.0, 0.1, 41)
    t0, t1 = np.meshgrid(g, g, indexing="ij")
    total = v + distance.discrepancy_sd(d, t0[..., None], t1[..., None]) ** 2
    logw = (-0.5 * (np.log(2 * np.pi * total) + r**2 / total)).sum(-1)
    logw += -0.5 * (t0 / distance.PRIOR_SCALE) ** 2 - 0.5 * (t1 / distance.PRIOR_SCALE) ** 2
    w = np.exp(logw - logw.max())
    np.testing.assert_array_equal(state["grid"], g)
    np.testing.assert_allclose(state["weights"], w / w.sum(), rtol=1e-12, atol=1e-300)
    assert _top_edge(state) < 0.01


def test_scale_grid_still_at_its_edge_is_warned_and_recorded():
    """Residuals far beyond what even the widest grid holds (tau1 200 per decade): the
    posterior stays at its edge; a SamplerWarning at the caller's line says the scales are cut
    off, and the state keeps the note."""
    from bayeslaws.inference.diagnostics import SamplerWarning

    r, v, d = _cv_data(200.0)
    with pytest.warns(SamplerWarning, match=r"top edge of its grid.*cut off") as caught:
        state = distance.posterior_state(r, v, d)
    assert {w.filename for w in caught if w.category is SamplerWarning} == {__file__}
    assert state["edge_mass"] > distance.EDGE_MASS
    assert state["grid_max"] == pytest.approx(distance.GRID_MAX * 2**distance.GRID_WIDENINGS)
    assert "cut off" in state["edge_note"]
