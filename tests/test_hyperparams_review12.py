"""Review 12 of the hyperparameter laws.

1. Law "hyperparams" at a fitted (N, D) cell: the loss of a run at a setting is the cell's own
   level plus the bowl about the cell's own optimum (as ``observations`` predicts the run), and
   the eta_opt, B_opt reported there are that optimum, for both kinds (the loss level had been
   the cell's while the bowl was centred on the law's optimum, or on a fresh new-cell one).
2. The two-stage baseline selects each cell's best run by ``runs.best_in_cell``'s rule (ties in
   loss to the smallest lr, then batch size), whatever the rows' order.
3. The identifiability check counts the parameters the law's model samples (no ``sigma`` for
   the two-stage law) and its observations (2 per selected run there), and always checks
   whether the runs lie on one line in (ln N, ln D).
4. ``optima_drift`` (law "sweep") and ``units`` (law tables) refuse booleans.

Fits: the session's tiny ``small_sweep_hp_fit`` (1 chain x 150 + 100, SIMULATED sweep).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.inference import identifiability
from bayeslaws.laws.hyperparams import TWO_STAGE, HyperparamsLaw, units_factor
from bayeslaws.laws.sweep import SweepLaw
from bayeslaws.runs import best_in_cell
from bayeslaws.runs.checks import ArgumentTypeError

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


# ---- 2. the two-stage selection is independent of row order -----------------------------------
def _tied_grid() -> pd.DataFrame:
    """6 cells (3 sizes x 2 token counts), 4 lr x 3 batch sizes, the lowest loss tied at two
    learning rates (2e-4 and 4e-4) in every cell."""
    rows = []
    for N in (1e8, 3e8, 9e8):
        for D in (1e9, 4e9):
            for lr, loss in ((1e-4, 2.05), (2e-4, 2.0), (4e-4, 2.0), (8e-4, 2.1)):
                for B in (1e5, 2e5, 4e5):
                    rows.append({"N": N, "D": D, "lr": lr, "batch_size": B,
                                 "loss": loss + (0.0 if B == 2e5 else 0.01)})
    return pd.DataFrame(rows)


def test_two_stage_selection_does_not_depend_on_row_order():
    keys = ["N", "D", "lr", "batch_size"]
    picked = []
    for df in (_tied_grid(), _tied_grid().iloc[::-1].reset_index(drop=True)):
        runs = bl.load_runs(df)
        chosen = TWO_STAGE.select(runs.df)[keys].sort_values(keys).reset_index(drop=True)
        best = runs.df[best_in_cell(runs.df)][keys].sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(chosen, best)  # runs.best_in_cell's rule
        picked.append(chosen)
    pd.testing.assert_frame_equal(picked[0], picked[1])
    assert (picked[0]["lr"] == 2e-4).all()  # ties to the smallest lr


# ---- 3. identifiability counts the model's own sites and observations ------------------------
def _on_one_line() -> pd.DataFrame:
    """4 cells on D = 50 N (N 1e8..8e8 params), 7 lr x 6 batch sizes each (168 runs): a bowl
    about an optimum that moves with N."""
    rows = []
    for N in (1e8, 2e8, 4e8, 8e8):
        eta, b_opt = 3e-3 * (N / 1e8) ** -0.5, 3e5 * (N / 1e8) ** 0.3
        for i in range(7):
            for j in range(6):
                lr, B = eta * 2.0 ** (i - 3), b_opt * 2.0 ** (j - 2.5)
                bowl = 0.01 * np.log(lr / eta) ** 2 + 0.005 * np.log(B / b_opt) ** 2
                loss = (1.7 + 400 / N**0.34 + 400 / (50 * N) ** 0.28) * np.exp(bowl)
                rows.append({"N": N, "D": 50 * N, "lr": lr, "batch_size": B, "loss": loss})
    return pd.DataFrame(rows)


def test_two_stage_counts_its_own_parameters_and_observations_and_the_line():
    runs = bl.load_runs(_on_one_line())
    prepared = TWO_STAGE.prepare(runs)
    n_cells = prepared.state["n_selected"]
    problems = identifiability.check(TWO_STAGE, prepared, "gaussian", warn=False)
    sites = TWO_STAGE.priors("gaussian")  # what its model samples: no shared sigma
    counted = [p for p in problems if "parameters (" in p]
    assert len(counted) == 1, problems
    assert counted[0].startswith(
        f"{2 * n_cells} observations of {n_cells} runs for law 'hyperparams_two_stage' with "
        f"{len(sites)} parameters ({', '.join(sites)})"
    ), counted[0]
    assert "sigma," not in counted[0] and "sigma)" not in counted[0]
    assert any("move together" in p and "50 tokens per parameter" in p for p in problems), problems


def test_sampled_sites_are_the_priors_the_model_samples(small_sweep):
    """Law 'hyperparams': its parameters without the pooling scale's prior (no groups) and
    without the per-cell deviations (no prior of their own); law 'sweep': sites standardised
    for the sampler under their own names, its shape scatters (held at 0) none."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the laws' notes on the runs
        law = HyperparamsLaw()
        sites = identifiability.sampled_sites(law, law.prepare(small_sweep), "gaussian")
        sweep_law = SweepLaw()
        sweep_sites = identifiability.sampled_sites(sweep_law, sweep_law.prepare(small_sweep),
                                                    "gaussian")
    assert set(sites) == set(law.priors("gaussian")) - {"group_sd"}
    assert {"level_centre", "lr_N", "k_lr", "sigma"} <= set(sweep_sites)
    assert not {"k_lr_scatter", "valley_scatter"} & set(sweep_sites)
    assert set(sweep_sites) < set(sweep_law.priors("gaussian"))


# ---- 4. booleans refused -----------------------------------------------------------------------
@pytest.mark.parametrize("bad", [True, False, np.True_, (True, 0.5), [0.5, np.False_]])
def test_optima_drift_refuses_booleans(bad):
    with pytest.raises(ArgumentTypeError, match="optima_drift"):
        SweepLaw(optima_drift=bad)


def test_optima_drift_still_takes_numbers():
    assert SweepLaw(optima_drift=np.float32(0.5)).optima_drift == (0.5, 0.5)
    assert SweepLaw(optima_drift=np.array([0.25, 1])).optima_drift == (0.25, 1.0)
    assert SweepLaw(optima_drift=1).optima_drift == (1.0, 1.0)


@pytest.mark.parametrize("bad", [True, np.True_, None])
def test_units_refuses_booleans(bad):
    with pytest.raises(ArgumentTypeError, match="units"):
        units_factor(bad)
    assert units_factor(1e9) == units_factor("billions")
