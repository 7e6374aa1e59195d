"""Law "sweep" at a FITTED (N, D) cell predicts what the model predicts for the cell's runs.

Before, ``draws`` (bl.predict, bl.loss_penalty) at a fitted cell gave the laws' optimum (the
eta_opt, B_opt power laws) and the surface's level (``kind="mean"``), or a fresh new cell there
(``new_run``), while :meth:`SweepLaw.observations` (what the likelihood and the designs use)
put the cell's runs about the cell's own fitted optimum and level. Now both read the cell's own
sites (as law ``hyperparams`` does since 274124b); away from the fitted cells the laws, as
before. Also: ``checked_names`` adds the per-cell sites those predictions read.

One small NUTS fit (2 chains x 200 + 200) of a SIMULATED video-DiT sweep (6 cells, 4 x 4 grid).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.laws import sweep
from bayeslaws.runs import simulate as sim

SIZES = (0.017e9, 0.057e9, 0.13e9)  # params
TOKENS = (2e9, 8e9)  # tokens
ATOL = 1e-6  # ln-loss units: the bowls are float32 JAX values


@pytest.fixture(scope="module")
def fit():
    df = sim.simulate_video_dit_sweep(seed=3, sizes=SIZES, tokens=TOKENS, grid_points=(4, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(bl.load_runs(df), law="sweep", chains=2, warmup=200, draws=200, seed=0)


def _cell_runs(fit, n, d) -> pd.DataFrame:
    """The fitted runs of the cell at (n params, d tokens)."""
    df = fit.training_runs().df
    return df[np.isclose(df["N"], n) & np.isclose(df["D"], d)][["N", "D", "lr", "batch_size"]]


def test_mean_loss_at_a_fitted_cells_runs_is_the_observation_mean(fit):
    """Draw by draw (same seed): ln of ``draws(kind="mean")["loss"]`` at a fitted cell's runs is
    the ``observations`` mean of those runs (the cell's own level plus its own bowl); before,
    the laws' optimum and the surface's level."""
    post = fit.posterior()
    runs = _cell_runs(fit, SIZES[1], TOKENS[1]).reset_index(drop=True)
    assert len(runs) >= 9
    d = fit.law.draws(post, runs, kind="mean", group=None, rng=np.random.default_rng(11))
    obs = fit.law.observations(post, runs, group=None, rng=np.random.default_rng(11))
    expected = obs.mean + post.scales["loss"]  # (S, R) uncentred ln loss
    np.testing.assert_allclose(np.log(d["loss"]), expected, rtol=0, atol=ATOL)
    # and the loss at the optimum is the cell's level: the bowl is 0 there
    np.testing.assert_allclose(np.log(d["loss_opt"]) + np.log1p(d["rel_penalty"]), expected,
                               rtol=0, atol=ATOL)


def test_new_run_at_a_fitted_cells_runs_is_one_runs_noise_about_it(fit):
    """``new_run`` at a fitted cell: the same optimum as ``mean`` (the cell's own, draw for
    draw: no fresh cell scatter), and each run's ln loss scatters about the observation mean by
    the model's run noise, sd sqrt(sigma^2 + (tau bowl)^2): standardised, Normal(0, 1)."""
    post = fit.posterior()
    runs = _cell_runs(fit, SIZES[0], TOKENS[0]).reset_index(drop=True)
    mean = fit.law.draws(post, runs, kind="mean", group=None, rng=np.random.default_rng(5))
    new = fit.law.draws(post, runs, kind="new_run", group=None, rng=np.random.default_rng(5))
    for q in ("eta_opt", "B_opt", "rel_penalty"):
        np.testing.assert_array_equal(new[q], mean[q])
    obs = fit.law.observations(post, runs, group=None, rng=np.random.default_rng(5))
    z = (np.log(new["loss"]) - post.scales["loss"] - obs.mean) / obs.sigma
    n = z.size
    assert abs(z.mean()) < 4 / np.sqrt(n), z.mean()
    assert abs(z.std() - 1) < 4 / np.sqrt(2 * n), z.std()


@pytest.mark.parametrize("kind", ["mean", "new_run"])
def test_optima_at_fitted_cells_are_the_cells_own(fit, kind):
    """eta_opt, B_opt at every fitted cell (both kinds, through bl.predict's draws) are the
    cell's own posterior optimum (``sweep_optima``: the law moved by its z_lr, z_batch), draw
    for draw; at a new (N, D) between the cells ``mean`` is still the laws'."""
    from bayeslaws.posterior.draws import quantity_draws, query_frame

    post = fit.posterior()
    own = fit.law.sweep_optima(post)
    query = query_frame(fit, own["N"], own["D"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = quantity_draws(fit, query, kind=kind, seed=2, extrapolation="none")
    np.testing.assert_allclose(np.log(d["eta_opt"]), own["log_eta"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.log(d["B_opt"]), own["log_B"], rtol=0, atol=1e-6)
    between = np.array([0.03e9]), np.array([4e9])
    assert (fit.law.fitted_cells(post, *between) == -1).all()
    law_lr, law_b = fit.law.centred_law_optima(post, *between)
    eta, b = fit.law.optimum_draws(post, *between, kind="mean", rng=None)
    np.testing.assert_array_equal(eta, law_lr + post.scales["lr"])
    np.testing.assert_array_equal(b, law_b + post.scales["batch_size"])


def test_checked_names_add_the_per_cell_sites_predictions_read(fit):
    """The reported sites plus each cell's z_lr, z_batch, level_offset, level_sd (all in the
    fit's posterior), and the shape deviations only with shape_scatter."""
    law, post = fit.law, fit.posterior()
    names = law.checked_names(post.groups, "gaussian")
    assert names[: len(law.summary_names(post.groups, "gaussian"))] == law.summary_names(
        post.groups, "gaussian"
    )
    assert set(sweep.CELL_SITES) <= set(names)
    n_cells = len(post.state["cells"]["N"])
    for site in sweep.CELL_SITES:
        assert np.shape(post.draws[site]) == (post.n_draws, n_cells), site
    assert not any(n.startswith("z_k_") for n in names)
    shaped = law.configure(shape_scatter=True).checked_names(post.groups, "gaussian")
    assert {f"z_{k}" for k in sweep.SHAPE_SCATTER} <= set(shaped)
