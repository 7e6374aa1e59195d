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


# ---- kind="new_run" predictions (bl.predict, bl.loss_penalty): one new cell per (N, D) -----------
# The new_run draws of a new cell's optimum scatter and level (and the run noise) were drawn per
# query ROW from one (S, Q) stream: a row's draws changed when another row was added, and rows at
# one planned (N, D) (an lr scan) each got their own optimum and level per draw. Now they are
# drawn once per cell from (the query's base seed, the cell's N and D) and each row's run noise
# from (the base seed, its N, D, lr, batch_size).
SETTING = {"lr": 2e-4, "batch_size": 1e5}  # peak lr, batch in tokens


def new_run_draws(fit, rows, seed: int = 0, kind: str = "new_run") -> dict:
    """bl's new_run draws (S, Q) of every quantity at the query ``rows`` (dicts of N, D[, lr,
    batch_size])."""
    frame = pd.DataFrame(rows)
    inputs = {c: frame[c].to_numpy(float) for c in frame}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        query = bl.posterior.query_frame(fit, **inputs)
        return bl.posterior.quantity_draws(fit, query, kind=kind, seed=seed)


def at(cell, **setting) -> dict:
    return {"N": cell[0], "D": cell[1], **setting}


@pytest.mark.parametrize("setting", [SETTING, {}], ids=["at_setting", "at_optimum"])
@pytest.mark.parametrize("pick", [PICK, PICK_BEYOND], ids=["inside", "beyond"])
@pytest.mark.parametrize("fit_name", ["small_sweep_sweep_fit", "small_sweep_hp_fit"])
def test_a_rows_new_run_draws_do_not_depend_on_the_other_rows(fit_name, pick, setting, request):
    """(a) Every quantity of a row (eta_opt, B_opt, loss with its noise, penalties) is drawn
    alike alone, among other cells' rows (a fitted cell, points beyond the range), and in
    any order."""
    fit = request.getfixturevalue(fit_name)
    row = at(pick, **setting)
    alone = new_run_draws(fit, [row])
    others = [at(c, **setting) for c in OTHERS]
    for rows in (others[:2] + [row] + others[2:], others[::-1] + [row], [row] + others):
        draws = new_run_draws(fit, rows)
        j = next(i for i, r in enumerate(rows) if (r["N"], r["D"]) == pick)
        assert set(draws) == set(alone)
        for name, values in alone.items():
            np.testing.assert_array_equal(np.asarray(draws[name])[:, j], np.asarray(values)[:, 0],
                                          err_msg=name)
    # another seed draws otherwise
    other_seed = new_run_draws(fit, [row], seed=1)
    assert not np.array_equal(other_seed["eta_opt"], alone["eta_opt"])


@pytest.mark.parametrize("fit_name", ["small_sweep_sweep_fit", "small_sweep_hp_fit"])
def test_b_rows_at_one_new_cell_share_its_optimum(fit_name, request):
    """(b) An lr scan at one planned (N, D) is one new sweep: its rows share eta_opt and B_opt
    per draw (also with a row at N equal within CELL_RTOL), so best lr and the difference
    between two lrs are those of one cell; the rows' run noise stays their own, also for two
    identical rows. A cell 1% off draws its own optimum."""
    fit = request.getfixturevalue(fit_name)
    lrs = [1e-4, 2e-4, 4e-4]
    rows = [at(OTHERS[0], **SETTING)] + [at(PICK, lr=lr, batch_size=1e5) for lr in lrs]
    rows += [{**at(PICK, **SETTING), "N": PICK[0] * (1 + CELL_RTOL / 10)}, at(PICK, **SETTING)]
    draws = new_run_draws(fit, rows)
    for name in ("eta_opt", "B_opt"):
        for j in (2, 3, 5):
            np.testing.assert_array_equal(draws[name][:, j], draws[name][:, 1], err_msg=name)
        # N 1e-5 relative off: the same deviations, the law a hair apart
        np.testing.assert_allclose(draws[name][:, 4], draws[name][:, 1], rtol=1e-6)
        assert not np.array_equal(draws[name][:, 0], draws[name][:, 1])
    # rows 2 and 5 are the same run twice: the same optimum, each its own noise
    assert not np.array_equal(draws["loss"][:, 2], draws["loss"][:, 5])
    apart = new_run_draws(fit, [at(PICK, **SETTING), {**at(PICK, **SETTING), "N": PICK[0] * 1.01}])
    assert not np.array_equal(apart["eta_opt"][:, 0], apart["eta_opt"][:, 1])


def noiseless(fit, **site_values):
    """``fit``'s law and posterior with the run noise ``sigma`` (and ``tau``) at 0 and the
    scalar sites ``site_values`` set (one value per draw)."""
    import dataclasses

    post = fit.posterior()
    S = post.n_draws
    draws = {**post.draws, "sigma": np.zeros(S)}
    if "tau" in draws:
        draws["tau"] = np.zeros(S)
    draws.update({k: np.full(S, float(v)) for k, v in site_values.items()})
    return dataclasses.replace(post, draws=draws)


def law_new_run(law, post, rows, seed: int = 0) -> dict:
    return law.draws(post, pd.DataFrame(rows), kind="new_run", group=None,
                     rng=np.random.default_rng(seed))


def test_b_rows_at_one_new_cell_share_its_level(small_sweep_sweep_fit, small_sweep_hp_fit):
    """(b) The rows of one new cell share its level (law 'sweep'; 'hyperparams' with
    ``loss_level="surface"``, on a made-up surface): with the run noise at 0 their loss at the
    optimum is one per draw, and a row's loss is that level plus its own bowl."""
    fit = small_sweep_sweep_fit
    post = noiseless(fit, level_scatter=0.05)
    surface = {"alpha": 0.35, "beta": 0.37, "a": -1.0, "b": -1.0, "e": -0.5, "level_scatter": 0.05}
    hp_post = noiseless(small_sweep_hp_fit, **surface)
    hp_law = small_sweep_hp_fit.law.configure(loss_level="surface")
    rows = [at(OTHERS[0], **SETTING)] + [at(PICK, lr=lr, batch_size=1e5) for lr in (1e-4, 4e-4)]
    for law, p in ((fit.law, post), (hp_law, hp_post)):
        draws = law_new_run(law, p, rows)
        np.testing.assert_array_equal(draws["loss_opt"][:, 1], draws["loss_opt"][:, 2])
        assert np.std(np.log(draws["loss_opt"][:, 1])) > 0.02  # the level scatter is drawn
        np.testing.assert_allclose(draws["loss"], draws["loss_opt"] * (1 + draws["rel_penalty"]))
        alone = law_new_run(law, p, [rows[2]])
        np.testing.assert_array_equal(alone["loss_opt"][:, 0], draws["loss_opt"][:, 2])


@pytest.mark.parametrize("fit_name", ["small_sweep_sweep_fit", "small_sweep_hp_fit"])
def test_c_new_run_marginals_are_the_law(fit_name, request):
    """(c) The law is unchanged: inside the fitted range a new cell's ln eta_opt (ln B_opt) is
    the law's plus lr_scatter (batch_scatter) times a standard normal, independent across
    cells; its sd is sqrt(the law's variance + E lr_scatter^2) (pooled over 24 new cells,
    within Monte Carlo error); and the run noise has sd sigma (law 'sweep', at the optimum)."""
    fit = request.getfixturevalue(fit_name)
    post = fit.posterior()
    S = post.n_draws
    cells = [(n, d) for n in np.geomspace(2.5e7, 2.2e8, 6) for d in np.geomspace(2.5e9, 1.1e10, 4)]
    rows = [at(c) for c in cells]
    new = new_run_draws(fit, rows)
    mean = new_run_draws(fit, rows, kind="mean")
    for name, scatter in (("eta_opt", "lr_scatter"), ("B_opt", "batch_scatter")):
        s = np.asarray(post.draws[scatter], float)[:, None]
        z = (np.log(new[name]) - np.log(mean[name])) / s  # (S, cells)
        assert abs(z.mean()) < 4 / np.sqrt(z.size), name
        assert z.std() == pytest.approx(1.0, abs=4 / np.sqrt(2 * z.size)), name
        corr = np.corrcoef(z.T)[np.triu_indices(len(cells), 1)]
        assert np.abs(corr.mean()) < 0.05, name  # cells independent
        ratio = np.log(new[name]).var(axis=0) / (np.log(mean[name]).var(axis=0) + np.mean(s**2))
        assert ratio.mean() == pytest.approx(1.0, abs=0.12), name
    if fit_name == "small_sweep_sweep_fit":
        th = {k: np.asarray(post.draws[k], float)[:, None] for k in ("level_scatter", "sigma")}
        resid = np.log(new["loss"]) - np.log(mean["loss"])  # s z_cell + sigma e_run
        z = resid / np.sqrt(th["level_scatter"] ** 2 + th["sigma"] ** 2)
        assert z.std() == pytest.approx(1.0, abs=4 / np.sqrt(2 * z.size))
        assert S * len(cells) == z.size


def test_predict_and_loss_penalty_rows_do_not_depend_on_the_other_rows(small_sweep_sweep_fit):
    """bl.predict and bl.loss_penalty (kind="new_run") give a row the same interval alone and
    beside other cells' rows."""
    fit = small_sweep_sweep_fit
    N, D = [PICK[0], OTHERS[0][0], OTHERS[1][0]], [PICK[1], OTHERS[0][1], OTHERS[1][1]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for call in (bl.predict, bl.loss_penalty):
            many = call(fit, N=N, D=D, lr=[2e-4] * 3, batch_size=[1e5] * 3, kind="new_run")
            alone = call(fit, N=N[0], D=D[0], lr=2e-4, batch_size=1e5, kind="new_run")
            numbers = [c for c in alone if pd.api.types.is_float_dtype(alone[c])]
            pd.testing.assert_series_equal(many.iloc[0][numbers], alone.iloc[0][numbers],
                                           check_names=False)
