"""Law "hyperparams" at a fitted (N, D) cell: the loss of a run at a setting is the cell's own level
plus the bowl about the cell's own optimum (as ``observations`` predicts the run), the eta_opt,
B_opt reported there are that optimum for both kinds, and a new run's loss at the optimum
carries the run-to-run noise. Fits: the session's tiny ``small_sweep_hp_fit`` (SIMULATED sweep)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.posterior.draws import quantity_draws, query_frame

RTOL = 1e-5  # float32 draws, the same draws on both sides


def _cell_runs(runs, post, c) -> pd.DataFrame:
    """The runs (N params, D tokens, lr, batch_size tokens) of fitted cell ``c``."""
    cells = post.state["cells"]
    df = runs.df
    at = (df["N"] == cells["N"][c]) & (df["D"] == cells["D"][c])
    return df.loc[at, ["N", "D", "lr", "batch_size"]].reset_index(drop=True)


# ---- 1. a fitted cell's own optimum and level -------------------------------------------------
@pytest.mark.parametrize("c", [0, 5])
def test_loss_at_a_fitted_cells_runs_is_what_observations_predicts(small_sweep_hp_fit,
                                                                   small_sweep, c):
    """Per draw, the predicted ln loss of the cell's own runs (kind="mean") is the mean that
    ``observations`` (the design's view, the model's) gives them: level + bowl about the cell's
    optimum."""
    fit = small_sweep_hp_fit
    law, post = fit.law, fit.posterior()
    query = _cell_runs(small_sweep, post, c)
    out = law.draws(post, query, kind="mean", group=None, rng=np.random.default_rng(0))
    obs = law.observations(post, query, group=None, rng=np.random.default_rng(0))
    np.testing.assert_allclose(np.log(out["loss"]), obs.mean + post.scales["loss"], rtol=RTOL)
    # and so the runs' medians as bl.predict reports them
    table = bl.predict(fit, N=query["N"], D=query["D"], lr=query["lr"],
                       batch_size=query["batch_size"], kind="mean")
    expected = np.median(np.exp(obs.mean + post.scales["loss"]), axis=0)
    np.testing.assert_allclose(table["loss_median"].to_numpy(), expected, rtol=1e-4)


@pytest.mark.parametrize("kind", ["mean", "new_run"])
def test_optimum_at_a_fitted_cell_is_the_cells_own(small_sweep_hp_fit, kind):
    """eta_opt and B_opt at a fitted cell are its posterior optimum (``sweep_optima``), draw by
    draw, for both kinds: the cell exists and its deviation is fitted; new_run adds only the
    run's noise to its level."""
    fit = small_sweep_hp_fit
    law, post = fit.law, fit.posterior()
    own = law.sweep_optima(post)
    query = pd.DataFrame({"N": own["N"], "D": own["D"]})
    out = law.draws(post, query, kind=kind, group=None, rng=np.random.default_rng(0))
    np.testing.assert_allclose(np.log(out["eta_opt"]), own["log_eta"], rtol=RTOL)
    np.testing.assert_allclose(np.log(out["B_opt"]), own["log_B"], rtol=RTOL)
    level = np.asarray(post.draws["level"], float) + post.scales["loss"]
    noise = np.log(out["loss_opt"]) - level
    if kind == "mean":
        np.testing.assert_allclose(noise, 0.0, atol=1e-5)
    else:  # one run's noise, sd sigma per draw (no fresh cell scatter)
        z = noise / np.asarray(post.draws["sigma"], float)[:, None]
        assert 0.7 < np.std(z) < 1.3, np.std(z)


def test_penalty_at_a_fitted_cells_own_optimum_is_only_its_uncertainty(small_sweep_hp_fit):
    """loss_penalty at a fitted cell's own posterior (median) optimum (the cell farthest from
    the law): per draw the bowl at that point about the draw's own cell optimum, not the
    law's, so its median lies far below the run noise (training there costs ~nothing)."""
    fit = small_sweep_hp_fit
    law, post = fit.law, fit.posterior()
    own = law.sweep_optima(post)
    c = int(np.argmax(np.abs(np.median(own["log_eta"] - _law_log_eta(post, own), axis=0))))
    ln_eta, ln_B = np.median(own["log_eta"][:, c]), np.median(own["log_B"][:, c])
    N, D = own["N"][c], own["D"][c]
    pen = bl.loss_penalty(fit, N=N, D=D, lr=np.exp(ln_eta), batch_size=np.exp(ln_B), kind="mean")
    th = {k: np.asarray(v, float) for k, v in post.draws.items() if np.ndim(v) == 1}
    bowl = np.asarray(law.bowl_value(th, ln_eta - own["log_eta"][:, c],
                                     ln_B - own["log_B"][:, c]), float)
    np.testing.assert_allclose(pen["rel_penalty_median"].iloc[0], np.median(np.expm1(bowl)),
                               rtol=1e-4)
    sigma = float(np.median(post.draws["sigma"]))
    assert pen["rel_penalty_median"].iloc[0] < 0.1 * sigma


def _law_log_eta(post, own) -> np.ndarray:
    """ln eta_opt (S, cells) of the law at the fitted cells (no cell deviation)."""
    d, sc = post.draws, post.scales
    x = np.log(own["N"])[None, :] - sc["N"]
    y = np.log(own["D"])[None, :] - sc["D"]
    col = {k: np.asarray(d[k], float)[:, None] for k in ("lr_int", "lr_N", "lr_D")}
    return col["lr_int"] + col["lr_N"] * x + col["lr_D"] * y + sc["lr"]


@pytest.fixture(scope="module")
def hp_fit(small_sweep_hp_fit):
    return small_sweep_hp_fit


# ---- 2. new_run adds the run-to-run noise to loss_opt ------------------------------------------
def test_new_run_loss_at_the_optimum_carries_the_run_noise(hp_fit):
    """At fitted cells (loss_level="free") the level is the same in both kinds, so new_run minus
    mean ln loss_opt is the noise alone: sd ~ sigma (gaussian likelihood); eta_opt and B_opt keep
    the draws they had (the noise is drawn last)."""
    cells = hp_fit.training_runs().df[["N", "D"]].drop_duplicates()
    query = query_frame(hp_fit, N=cells["N"].to_numpy(), D=cells["D"].to_numpy())
    mean = quantity_draws(hp_fit, query, kind="mean", seed=3, extrapolation="none")
    new = quantity_draws(hp_fit, query, kind="new_run", seed=3, extrapolation="none")
    noise = np.log(new["loss_opt"]) - np.log(mean["loss_opt"])  # (S, cells)
    sigma = np.asarray(hp_fit.posterior().draws["sigma"], float)
    ratio = (noise / sigma[:, None]).std()  # ~ 1; 900 values: Monte Carlo sd ~ 0.025
    assert ratio == pytest.approx(1.0, abs=0.12)
    assert abs((noise / sigma[:, None]).mean()) < 0.15
    again = quantity_draws(hp_fit, query, kind="mean", seed=3, extrapolation="none")
    np.testing.assert_array_equal(again["loss_opt"], mean["loss_opt"])  # mean: no noise
