"""A candidate's value in design does not depend on which other candidates are offered.

A new (unseen) cell's random deviations (its optimum's cell scatter, and the sweep law's shape
deviations) were drawn one cell after another from one generator in candidate order, so the same
pick was valued 0.119 nats among 5 candidates per budget and 0.085 among 7 (notebooks/planning,
sections 6 and 7). Now each query draws one base seed from the caller's rng and a new cell's
deviations are a function of (that seed, the cell's N and D) only; the sweep law's other streams
(fitted cells' levels, the optima drift's slopes) are seeded from the same base, so whether the
query holds a fitted cell or a point beyond the fitted range changes nobody else's draws.

Tiny SIMULATED fits from conftest (laws ``sweep`` and ``hyperparams``); no sampling here.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.runs.cells import CELL_RTOL

# (N params, D tokens): new cells inside and beyond the small sweep's range (17M..260M params,
# 2B..12B tokens; beyond it the optima carry the drift, slopes shared by the query's points),
# and one fitted cell (57M, 5B)
PICK = (1.0e8, 8e9)
PICK_BEYOND = (4e8, 2e10)
OTHERS = [(3.0e7, 3e9), (6e8, 3e10), (0.057e9, 5e9), (2.0e8, 2.5e9)]
LR = [1e-4, 2e-4, 4e-4]  # peak learning rate
BATCH = [5e4, 2e5]  # tokens


def candidates(cells) -> pd.DataFrame:
    """One LR x batch sweep (a unit) per cell, on the same fixed grid everywhere."""
    N, D = zip(*cells, strict=True)
    return bl.design.hyperparameter_candidates(list(N), list(D), lr=LR, batch_size=BATCH)


def observed(fit, cands: pd.DataFrame, seed: int = 0):
    """The law's predicted observations of ``cands``, their noise sd (S, R) and the rng's next
    number afterwards."""
    rng = np.random.default_rng(seed)
    obs = fit.law.observations(fit.posterior(), cands, group=None, rng=rng)
    S, R = obs.mean.shape
    sigma = np.broadcast_to(np.asarray(obs.sigma, float).reshape(S, -1), (S, R))
    return obs, sigma, rng.random()


def pick_columns(cands: pd.DataFrame, pick) -> np.ndarray:
    return np.flatnonzero(np.isclose(cands["N"], pick[0]) & np.isclose(cands["D"], pick[1]))


@pytest.mark.parametrize("pick", [PICK, PICK_BEYOND], ids=["inside", "beyond"])
@pytest.mark.parametrize("fit_name", ["small_sweep_sweep_fit", "small_sweep_hp_fit"])
def test_a_new_cells_draws_do_not_depend_on_the_other_candidates(fit_name, pick, request):
    fit = request.getfixturevalue(fit_name)
    alone = candidates([pick])
    obs_alone, sigma_alone, next_alone = observed(fit, alone)
    for cells in (OTHERS[:2] + [pick] + OTHERS[2:], [pick] + OTHERS[::-1], OTHERS[::-1] + [pick]):
        cands = candidates(cells)
        obs, sigma, next_after = observed(fit, cands)
        cols = pick_columns(cands, pick)
        np.testing.assert_array_equal(obs.mean[:, cols], obs_alone.mean)
        np.testing.assert_array_equal(sigma[:, cols], sigma_alone)
        np.testing.assert_array_equal(obs.nuisance[cols], obs_alone.nuisance)
        assert next_after == next_alone  # the caller's rng advanced alike
    # the same seed gives the same numbers; another seed other draws of the new cell
    np.testing.assert_array_equal(observed(fit, alone)[0].mean, obs_alone.mean)
    assert not np.array_equal(observed(fit, alone, seed=1)[0].mean, obs_alone.mean)


@pytest.mark.parametrize("fit_name", ["small_sweep_sweep_fit", "small_sweep_hp_fit"])
def test_rows_of_one_new_cell_share_its_draws_among_other_cells(fit_name, request):
    """Two rows of one new cell (N equal within CELL_RTOL) share the cell's optimum, so at the
    same lr and batch size their predicted means agree, and agree with the cell offered alone,
    after another new cell; a truly different N (1% off) draws its own deviations."""
    fit = request.getfixturevalue(fit_name)
    base = {"D": PICK[1], "lr": 2e-4, "batch_size": 1e5, "unit": 0}
    alone = observed(fit, pd.DataFrame([{**base, "N": PICK[0]}]))[0].mean[:, 0]
    n_same = PICK[0] * (1 + CELL_RTOL / 10)
    other_cell = {**base, "N": OTHERS[0][0], "D": OTHERS[0][1], "unit": 1}
    rows = pd.DataFrame([other_cell, {**base, "N": PICK[0]}, {**base, "N": n_same}])
    mean = observed(fit, rows)[0].mean
    np.testing.assert_array_equal(mean[:, 1], alone)
    np.testing.assert_allclose(mean[:, 2], alone, rtol=0, atol=1e-6)
    apart = pd.DataFrame([{**base, "N": PICK[0]}, {**base, "N": PICK[0] * 1.01}])
    mean = observed(fit, apart)[0].mean
    assert np.max(np.abs(mean[:, 0] - mean[:, 1])) > 1e-4


def test_rank_candidates_values_the_pick_alike_whatever_else_is_offered(small_sweep_sweep_fit):
    """The planning notebook's symptom: one unit's information about N_opt(1e22) (nats) and its
    width after, alone, among others, and in reversed order."""
    fit = small_sweep_sweep_fit
    target = bl.design.NOpt(C=1e22)

    def pick_row(cells):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ranked = bl.design.rank_candidates(fit, candidates(cells), target, seed=0)
        row = ranked[np.isclose(ranked["N"], PICK[0]) & np.isclose(ranked["D"], PICK[1])]
        assert len(row) == 1
        width = [c for c in ranked.columns if c.startswith("width_after")]
        return row[["info", *width]].to_numpy(float).ravel()

    alone = pick_row([PICK])
    assert alone[0] > 0
    for cells in (OTHERS + [PICK], [PICK] + OTHERS[::-1]):
        np.testing.assert_allclose(pick_row(cells), alone, rtol=1e-9)
