"""bayeslaws.design: one unknown level per new (N, D) cell, not one per unit.

The hyperparameter laws give a run at a new cell a nuisance, the variance of its cell's level,
unknown until the cell's runs are seen. The design merged all of a unit's rows into ONE level
(``nuis = max(nuisance[rows])``, added as ``nuis * ones((m, m))``): a unit holding sweeps at two
new cells (any rows sharing a ``unit`` label) had its two independent levels treated as one,
and was overvalued (a hyperparameter fit: 0.223 nats for the two sweeps as one unit against
0.129 for the same sweeps picked as two units, whose values must add up to the unit's by the
chain rule); so was a unit mixing a fitted cell's run (no level) with a new cell's. Now
``Observations.level`` says which rows share a level, and the unit's noise covariance is
``diag(noise) + sum_l nu_l 1_l 1_l^T`` in the Gaussian values, the conditioning and the
likelihoods of ``bounds`` and the reweighted values. Also: ``bounds()`` warns when its
reweighted value rests on too few draws (NaN when every outcome is skipped), as
``rank_candidates(estimator="reweighted")`` does.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from conftest import quiet
from scipy.stats import multivariate_normal

from bayeslaws import design
from bayeslaws.design.bounds import outcome_loglik, simulate_outcomes
from bayeslaws.design.gaussian import condition_rows, setup, unit_gains

NEW_A, NEW_B = (5e7, 4e9), (3e8, 1.6e10)  # cells the fixtures' sweeps have no runs at
FITTED = (0.057e9, 5e9)  # a cell of ``small_sweep`` (conftest)
ONE_PER_PICK = design.Guardrails(1, False)  # no repeats, no ratio rule: pick both units


def _sweep(cell, unit, lrs=(1e-4, 2e-4, 4e-4), batches=(5e4, 1e5)) -> pd.DataFrame:
    """An lr x batch sweep at ``cell`` (N params, D tokens), one unit."""
    grid = [(lr, b) for lr in lrs for b in batches]
    frame = pd.DataFrame(grid, columns=["lr", "batch_size"])
    return frame.assign(N=cell[0], D=cell[1], unit=unit)


def _together_and_as_one(fit, parts: list, target=None, criterion="marginal"):
    """(the greedy total of the ``parts`` picked as separate units, the value of their rows as
    one unit) (nats)."""
    apart = pd.concat(parts, ignore_index=True)
    opts = {"cost": None, "guardrails": ONE_PER_PICK, "criterion": criterion}
    plan = quiet(design.next_runs, fit, apart, target, k=len(parts), **opts)
    assert len(plan) == len(parts) and set(plan["unit"]) == {p["unit"].iloc[0] for p in parts}
    one = quiet(design.next_runs, fit, apart.assign(unit="one"), target, k=1, **opts)
    return float(plan["cumulative_info"].iloc[-1]), float(one["info"].iloc[0])


def test_a_unit_at_two_new_cells_is_worth_its_two_sweeps_together(small_sweep_hp_fit):
    """The reproduction: sweeps at two new cells, picked as two units or as one unit of the
    same 12 runs. The joint information (all parameters; a target under criterion "info") obeys
    the chain rule: the greedy total of the two picks is the one unit's value. The old one
    level per unit valued the unit at 0.223 nats against 0.129."""
    parts = [_sweep(NEW_A, "a"), _sweep(NEW_B, "b")]
    together, one = _together_and_as_one(small_sweep_hp_fit, parts)
    assert together > 0.05  # informative: not a trivial equality of zeros
    np.testing.assert_allclose(one, together, rtol=1e-8)
    target = design.HyperparamOpt(N=2e8, D=1e10)
    together, one = _together_and_as_one(small_sweep_hp_fit, parts, target, "info")
    np.testing.assert_allclose(one, together, rtol=1e-8)


def test_a_fitted_cell_run_adds_no_level_to_a_new_cell_sweep(small_sweep_hp_fit):
    """A unit of a fitted cell's run (its level is in the draws: nuisance 0) and a new cell's
    sweep: worth the two apart picked together (the old unit took the sweep's level for the
    fitted run too)."""
    parts = [_sweep(NEW_A, "new"), _sweep(FITTED, "fitted", lrs=(2e-4,), batches=(1e5,))]
    together, one = _together_and_as_one(small_sweep_hp_fit, parts)
    np.testing.assert_allclose(one, together, rtol=1e-8)


def _check_levels(fit):
    """The law's observations number each new cell's level, -1 at a fitted cell, and carry a
    nuisance exactly where they have a level."""
    cands = pd.concat(
        [_sweep(NEW_A, "a"), _sweep(FITTED, "f", lrs=(2e-4,)), _sweep(NEW_B, "b", lrs=(1e-4,))],
        ignore_index=True,
    )
    obs = fit.law.observations(fit.posterior(), cands, group=None, rng=np.random.default_rng(0))
    level, nuisance = np.asarray(obs.level), np.asarray(obs.nuisance)
    a, f, b = ((cands["unit"] == u).to_numpy() for u in ("a", "f", "b"))
    assert np.all(level[f] == -1) and np.all(nuisance[f] == 0)
    assert len(set(level[a])) == 1 and len(set(level[b])) == 1 and level[a][0] != level[b][0]
    assert np.all(level[a | b] >= 0) and np.all(nuisance[a | b] > 0)
    p = setup(fit, cands.assign(unit="all"), None, 0, None, None, None)
    m = p.idx.shape[1]
    assert sorted(set(p.levels[0])) == [-1, 0, 1]  # two levels and the fitted runs' none
    in_a = p.levels[0] == p.levels[0, 0]
    assert np.all(p.nuis[0][np.ix_(in_a, ~in_a)] == 0)  # the levels are independent
    assert np.all(p.nuis[0][np.ix_(in_a, in_a)] == nuisance[a][0]) and m == len(cands)


def test_the_hyperparams_law_numbers_each_new_cells_level(small_sweep_hp_fit):
    _check_levels(small_sweep_hp_fit)


def test_the_sweep_law_numbers_each_new_cells_level(small_sweep_sweep_fit):
    _check_levels(small_sweep_sweep_fit)


def _two_level_problem(seed=0):
    """A synthetic linear-Gaussian problem: draws A (S, T + R) of a target (T = 2) and R = 4
    observations, noise variances, one unit of the 4 rows with levels [0, 0, 1, 1] of variances
    0.3 and 0.5, and a unit of rows 0 and 2 (levels 0 and 1) padded to 4 rows."""
    rng = np.random.default_rng(seed)
    S, T, R = 60, 2, 4
    raw = rng.standard_normal((S, T + R)) @ rng.standard_normal((T + R, T + R))
    A = (raw - raw.mean(0)) / np.sqrt(S - 1)
    noise = np.array([0.2, 0.4, 0.3, 0.6])
    nu = np.array([0.3, 0.3, 0.5, 0.5])
    same = np.array([0, 0, 1, 1])[:, None] == np.array([0, 0, 1, 1])[None, :]
    level_cov = np.where(same, nu[:, None], 0.0)  # sum_l nu_l 1_l 1_l^T
    idx = np.array([[0, 1, 2, 3], [0, 2, -1, -1]])
    pad = 1e12
    noise_row = np.array([noise, [noise[0], noise[2], pad, pad]])
    sub = level_cov[np.ix_([0, 2], [0, 2])]  # independent: the pair's levels differ
    nuis = np.zeros((2, 4, 4))
    nuis[0] = level_cov
    nuis[1, :2, :2] = sub
    return A, T, idx, noise_row, nuis, noise, level_cov


def _direct(A, T, rows, noise, level_cov):
    """(I(all; y) and the target's info and marginal criteria, nats) by direct covariance
    algebra: y = f + levels + noise, Cov(y) = Sigma_f + diag(noise) + level_cov."""
    Sf = A[:, T:][:, rows].T @ A[:, T:][:, rows]
    N = np.diag(noise) + level_cov
    St = A[:, :T].T @ A[:, :T]
    C = A[:, :T].T @ A[:, T:][:, rows]
    post = St - C @ np.linalg.solve(Sf + N, C.T)
    all_params = 0.5 * (np.linalg.slogdet(Sf + N)[1] - np.linalg.slogdet(N)[1])
    info = 0.5 * (np.linalg.slogdet(St)[1] - np.linalg.slogdet(post)[1])
    marginal = 0.5 * np.sum(np.log(np.diag(St) / np.diag(post)))
    return all_params, info, marginal


def test_unit_gains_of_a_two_level_unit_match_the_direct_covariance_algebra():
    """unit_gains of a unit with two independent levels (and of a padded unit with one row of
    each level) against the direct Gaussian algebra; and conditioning on one unit with
    condition_rows then valuing the other adds up to the joint value (chain rule)."""
    A, T, idx, noise_row, nuis, noise, level_cov = _two_level_problem()
    with jax.enable_x64(True):
        W0 = jnp.zeros((1, A.shape[1]))
        args = (jnp.asarray(idx.clip(0)), jnp.asarray(noise_row), jnp.asarray(nuis))
        none = (jnp.zeros((0, 0)), jnp.zeros((2, 0, 0)), jnp.asarray(0.0))
        none_t = (jnp.zeros((0, T)), jnp.zeros((2, 0, T)), jnp.asarray(0.0))
        got_all = np.asarray(unit_gains(jnp.asarray(A[:, T:]), W0[:, T:], *args, *none,
                                        n_target=0)[0])  # fmt: skip
        got = {
            c: np.asarray(unit_gains(jnp.asarray(A), W0, *args, *none_t, n_target=T,
                                     criterion=c)[0])  # fmt: skip
            for c in ("info", "marginal")
        }
        for u, rows in enumerate([[0, 1, 2, 3], [0, 2]]):
            want = _direct(A, T, rows, noise[rows], level_cov[np.ix_(rows, rows)])
            np.testing.assert_allclose(got_all[u], want[0], rtol=1e-10)
            np.testing.assert_allclose(got["info"][u], want[1], rtol=1e-10)
            np.testing.assert_allclose(got["marginal"][u], want[2], rtol=1e-10)
        # chain rule: rows [0, 1] (level 0), then rows [2, 3] (level 1) given them
        Aj = jnp.asarray(A)
        W = condition_rows(Aj, W0, jnp.asarray([T, T + 1]), jnp.asarray(noise[:2]),
                           jnp.asarray(level_cov[:2, :2]))  # fmt: skip
        second = unit_gains(Aj, W, jnp.asarray([[2, 3]]), jnp.asarray([noise[2:]]),
                            jnp.asarray([level_cov[2:, 2:]]), *none_t[:1],
                            jnp.zeros((1, 0, T)), none_t[2], n_target=T, criterion="info")[0]
        first = _direct(A, T, [0, 1], noise[:2], level_cov[:2, :2])[1]
    np.testing.assert_allclose(first + float(second[0]), got["info"][0], rtol=1e-10)


def test_the_bounds_likelihood_integrates_each_level_out():
    """outcome_loglik of a two-level unit (one padded row) is the Gaussian log density with
    covariance diag(var) + sum_l nu_l 1_l 1_l^T, and simulate_outcomes draws with it."""
    rng = np.random.default_rng(1)
    scale = np.array([0.3, 0.5, 0.4, 0.7, 1.0])
    valid = np.array([True, True, True, True, False])
    member = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [1, 0]], float)  # the pad: level 0
    nus = np.array([0.2, 0.6])
    F = rng.standard_normal((3, 5))
    Y = rng.standard_normal((4, 5))
    cov = np.diag(scale[:4] ** 2) + (member[:4] * nus) @ member[:4].T
    want = np.array([[multivariate_normal(f[:4], cov).logpdf(y[:4]) for f in F] for y in Y])
    with jax.enable_x64(True):
        args = (jnp.asarray(scale), None, "gaussian", jnp.asarray(nus), jnp.asarray(valid))
        got = outcome_loglik(jnp.asarray(Y), jnp.asarray(F), *args, True, jnp.asarray(member))
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10)
        n = 40000
        sim = simulate_outcomes(
            jax.random.PRNGKey(0), jnp.zeros((n, 5)), *args, jnp.arange(n), True,
            jnp.asarray(member),
        )
    np.testing.assert_allclose(np.cov(np.asarray(sim)[:, :4].T), cov, atol=0.025)


def test_bounds_value_a_two_cell_unit_as_its_two_sweeps(small_sweep_hp_fit):
    """bounds() of the unit of two new cells: its gaussian_all is the two sweeps' greedy total
    (it was the one level's overvalue), and NMC / PCE, which now integrate each level out,
    bracket it within Monte Carlo error."""
    parts = [_sweep(NEW_A, "a"), _sweep(NEW_B, "b")]
    together, _ = _together_and_as_one(small_sweep_hp_fit, parts)
    cands = pd.concat(parts, ignore_index=True).assign(unit="one")
    b = quiet(design.bounds, small_sweep_hp_fit, cands, n_outer=100).iloc[0]
    np.testing.assert_allclose(b["gaussian_all"], together, rtol=1e-8)
    assert b["pce_all"] - 3 * b["pce_all_se"] <= together <= b["nmc_all"] + 3 * b["nmc_all_se"]


def test_bounds_warns_when_its_reweighted_value_rests_on_too_few_draws(small_sweep_hp_fit):
    """With 8 draws every outcome's weights have an ESS below MIN_ESS (10): reweighted is NaN
    and n_skipped is n_outer. bounds() said nothing (rank_candidates(estimator="reweighted")
    warns); now a DesignWarning names the unit, located at the caller's line."""
    cands = _sweep(NEW_A, "a")
    target = design.HyperparamOpt(N=2e8, D=1e10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = design.bounds(small_sweep_hp_fit, cands, target, max_draws=8)
    assert np.isnan(out["reweighted"].iloc[0]) and out["n_skipped"].iloc[0] == 8
    flagged = [w for w in caught if w.category is design.DesignWarning]
    assert len(flagged) == 1, [str(w.message) for w in caught]
    text = str(flagged[0].message)
    assert "a: mean ESS" in text and "8 of 8 outcomes skipped" in text and "NaN" in text
    assert flagged[0].filename == __file__
