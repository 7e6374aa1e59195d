"""Law "sweep": ``observations`` and ``draws`` put a candidate's run on one path.

``SweepLaw.observations`` (what the likelihood and the designs read) built each candidate's
optimum, bowl shape and level in its own per-candidate loop, beside the helpers ``draws``
(bl.predict, bl.loss_penalty) uses for the same quantities; the two agreed only to float32
round-off (a fitted cell's optimum shift was a float32 product in one, float64 in the other),
and at a fitted cell's run just beyond the fitted range (within CELL_RTOL) ``observations``
also moved the cell's own optimum by the optima drift. Now both read ``centred_optima``,
``query_bowl`` and ``query_levels``: draw by draw, at fitted and at new cells, a candidate's
observation mean is the level ``draws(kind="mean")`` reports plus the bowl ``draws(kind=
"new_run")`` prices its setting by, to float64 round-off.
(That a fitted cell's run's mean equals ``draws(kind="mean")`` is tested in
test_sweep_fitted_cells.py; this file tests the new-cell path with it.)

Tiny SIMULATED fit from conftest (``small_sweep_sweep_fit``); no sampling here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayeslaws.runs.cells import CELL_RTOL

FITTED = (0.057e9, 5e9)  # a fitted cell of small_sweep (N params, D tokens)
EDGE = (0.26e9 * (1 + CELL_RTOL / 2), 12e9 * (1 + CELL_RTOL / 2))  # the largest fitted cell,
# matched within CELL_RTOL but a hair beyond the fitted range
NEW = (1.0e8, 8e9)  # a new cell inside the range
NEW_NEAR = (NEW[0] * (1 + CELL_RTOL / 10), NEW[1])  # the same new cell, N within CELL_RTOL
BEYOND = (4e8, 2e10)  # a new cell beyond the range (its optimum carries the drift)
SETTINGS = [(1e-4, 5e4), (2e-4, 1e5), (4e-4, 2e5)]  # (peak lr, batch in tokens)
TIGHT = 1e-12  # ln-loss units: float64 round-off


def candidates(cells) -> pd.DataFrame:
    """Every setting at every cell, one unit per cell (cells may repeat)."""
    rows = [{"N": n, "D": d, "lr": lr, "batch_size": b, "unit": u}
            for u, (n, d) in enumerate(cells) for lr, b in SETTINGS]
    return pd.DataFrame(rows)


def observed(fit, cands: pd.DataFrame, seed: int = 0):
    return fit.law.observations(fit.posterior(), cands, group=None,
                                rng=np.random.default_rng(seed))


def test_observation_mean_is_the_draws_level_plus_the_new_run_bowl(small_sweep_sweep_fit):
    """Draw by draw, same seed: ``obs.mean`` (centred) is ln L at the optimum (the fitted
    cell's own level, or the surface at a new cell: ``draws(kind="mean")["loss_opt"]``) plus
    the bowl about the cell's optimum (its own at a fitted cell, the new cell's drawn one
    elsewhere: ``draws(kind="new_run")["rel_penalty"]``), and the noise sd is
    sqrt(sigma^2 + (tau bowl)^2); at fitted cells (also the one a hair beyond the range), new
    cells, a repeated new cell and one within CELL_RTOL of it."""
    fit = small_sweep_sweep_fit
    post = fit.posterior()
    cands = candidates([FITTED, NEW, BEYOND, NEW, NEW_NEAR, EDGE])
    obs = observed(fit, cands, seed=7)
    mean = fit.law.draws(post, cands, kind="mean", group=None, rng=np.random.default_rng(7))
    new = fit.law.draws(post, cands, kind="new_run", group=None, rng=np.random.default_rng(7))
    level = np.log(mean["loss_opt"]) - post.scales["loss"]
    bowl = np.log1p(new["rel_penalty"])
    assert np.all(bowl >= 0) and np.ptp(bowl) > 0
    np.testing.assert_allclose(obs.mean, level + bowl, rtol=0, atol=TIGHT)
    sigma = np.asarray(post.draws["sigma"], float)[:, None]
    tau = np.asarray(post.draws["tau"], float)[:, None]
    np.testing.assert_allclose(obs.sigma, np.sqrt(sigma**2 + (tau * bowl) ** 2), rtol=1e-12)


def test_candidates_at_one_new_cell_share_its_optimum_and_level(small_sweep_sweep_fit):
    """A new cell's candidates (repeated, and at N within CELL_RTOL) share one level id, the
    nuisance variance E[level_scatter^2] and, per draw, the optimum deviation from the law
    (ln eta_opt and ln B_opt of ``new_run`` less ``mean``); another new cell has its own id
    and deviations, a fitted cell no level (-1, nuisance 0)."""
    fit = small_sweep_sweep_fit
    post = fit.posterior()
    cells = [NEW, FITTED, NEW_NEAR, BEYOND, NEW]
    cands = candidates(cells)
    obs = observed(fit, cands, seed=3)
    unit = [np.flatnonzero(cands["unit"] == u) for u in range(len(cells))]
    same = np.concatenate([unit[0], unit[2], unit[4]])  # NEW, NEW_NEAR, NEW again
    assert len(set(obs.level[same])) == 1 and obs.level[same][0] >= 0
    assert obs.level[unit[3]][0] not in set(obs.level[same])
    assert (obs.level[unit[1]] == -1).all() and (obs.nuisance[unit[1]] == 0).all()
    s2 = np.mean(np.asarray(post.draws["level_scatter"], float) ** 2)
    np.testing.assert_allclose(obs.nuisance[same], s2, rtol=1e-12)
    mean = fit.law.draws(post, cands, kind="mean", group=None, rng=np.random.default_rng(3))
    new = fit.law.draws(post, cands, kind="new_run", group=None, rng=np.random.default_rng(3))
    for name in ("eta_opt", "B_opt"):
        dev = np.log(new[name]) - np.log(mean[name])  # the new cell's deviation, (S, R)
        shared = np.broadcast_to(dev[:, same[:1]], dev[:, same].shape)
        np.testing.assert_allclose(dev[:, same], shared, rtol=0, atol=TIGHT)
        assert np.std(dev[:, same[0]]) > 0.01
        assert not np.allclose(dev[:, unit[3][0]], dev[:, same[0]])
        np.testing.assert_allclose(dev[:, unit[1]], 0.0, atol=TIGHT)
    # the same runs twice (units 0 and 4) are one prediction
    np.testing.assert_array_equal(obs.mean[:, unit[0]], obs.mean[:, unit[4]])


def test_a_candidates_observation_does_not_depend_on_the_others_or_their_order(
        small_sweep_sweep_fit):
    """A candidate's mean, sigma and nuisance are the same (bitwise) alone, among fitted and
    new cells and in reversed order; and which candidates share a level is kept."""
    fit = small_sweep_sweep_fit
    full = candidates([FITTED, NEW, BEYOND, NEW_NEAR, EDGE])
    key = ["N", "D", "lr", "batch_size"]
    ref = observed(fit, full, seed=5)
    subsets = [full.iloc[::-1], full[full["unit"].isin([1, 3])], full[full["unit"] == 2],
               full[full["unit"].isin([4, 0, 2])].iloc[::-1]]
    for sub in subsets:
        sub = sub.reset_index(drop=True)
        obs = observed(fit, sub, seed=5)
        at = full.reset_index().merge(sub.reset_index(), on=key)  # index_x: full, index_y: sub
        i, j = at["index_x"].to_numpy(), at["index_y"].to_numpy()
        np.testing.assert_array_equal(obs.mean[:, j], ref.mean[:, i])
        np.testing.assert_array_equal(obs.sigma[:, j], ref.sigma[:, i])
        np.testing.assert_array_equal(obs.nuisance[j], ref.nuisance[i])
        shared_sub = obs.level[j][:, None] == obs.level[j][None, :]
        shared_ref = ref.level[i][:, None] == ref.level[i][None, :]
        np.testing.assert_array_equal(shared_sub, shared_ref)
