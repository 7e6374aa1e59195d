"""Law "sweep": the LR x batch sweep, the loss surface and the optima fitted as one model.

Checked here: the analytic cell marginal against the dense Gaussian it replaces; recovery of a
SIMULATED Yin-like sweep's known optima and loss surface (one small fit, shared); the runs kept
out of the bowls (NaN loss, a run beyond the cell's far-out fence) recorded in the fit; sampler
diagnostics reported; where a repeated grid's best run lands (best_run); bad input refused by
name."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import bayeslaws as bl
from bayeslaws.app.plan import truth_size_change
from bayeslaws.laws import sweep
from bayeslaws.laws.hyperparams.data import DivergenceWarning
from bayeslaws.runs import PlausibilityWarning, RunTableError
from bayeslaws.runs import simulate as sim

TRUTH = sim.VideoDiTTruth()
SIZES = (0.017e9, 0.057e9, 0.13e9)  # params
TOKENS = (2e9, 4e9, 8e9)  # tokens


def small_sweep(seed=5, noise_sd=3e-4) -> pd.DataFrame:
    """SIMULATED: 3 sizes x 3 token budgets, each cell's 6 learning rates x its middle 4 batch
    sizes (216 runs), with less run noise (relative sd 3e-4) than the bundled sweep (7e-4), so
    that a small fit pins the optima down."""
    df = sim.simulate_video_dit_sweep(seed=seed, sizes=SIZES, tokens=TOKENS, noise_sd=noise_sd)
    parts = []
    for _, cell in df.groupby(["N", "D"]):
        bs = np.sort(cell["batch_size"].unique())[1:5]
        parts.append(cell[cell["batch_size"].isin(bs)])
    return pd.concat(parts, ignore_index=True)


def damaged_sweep() -> pd.DataFrame:
    """The small sweep plus two runs the bowls must not use: a cliff run (loss 1.5x, at the
    highest lr of one cell) and a run with a NaN loss."""
    df = small_sweep()
    first = df[(df["N"] == SIZES[0]) & (df["D"] == TOKENS[0])]
    cliff = first.loc[first["lr"].idxmax()].copy()
    cliff["lr"] = cliff["lr"] * 1.5
    cliff["loss"] = cliff["loss"] * 1.5
    nan = first.iloc[0].copy()
    nan["lr"] = nan["lr"] * 1.2
    nan["loss"] = np.nan
    return pd.concat([df, cliff.to_frame().T, nan.to_frame().T], ignore_index=True)


@pytest.fixture(scope="module")
def sweep_fit():
    runs = bl.load_runs(damaged_sweep(), allow_missing_loss=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = bl.fit(runs, law="sweep", chains=2, warmup=250, draws=250, seed=0)
    return fit, caught


# ---- the likelihood --------------------------------------------------------------------------
def test_cell_marginal_equals_the_dense_gaussian():
    """Per-run chain-rule terms sum, per cell, to the exact marginal with the level integrated
    out: N(mean, diag(var) + s^2 11^T)."""
    rng = np.random.default_rng(0)
    cell_index = np.array([2, 0, 1, 0, 2, 2, 1, 0, 0], np.int32)
    n_cells = 3
    mean, var = rng.normal(size=9), rng.uniform(0.1, 0.5, 9)
    value, s2 = rng.normal(size=9), 0.7
    order = np.argsort(cell_index, kind="stable").astype(np.int32)
    rank = np.empty_like(order)
    rank[order] = np.arange(9, dtype=np.int32)
    start = np.searchsorted(cell_index[order], np.arange(n_cells)).astype(np.int32)
    d = sweep.CellMarginal(
        jnp.asarray(mean),
        jnp.asarray(var),
        s2,
        jnp.asarray(cell_index),
        jnp.asarray(order),
        jnp.asarray(rank),
        jnp.asarray(start),
    )
    lp = np.asarray(d.log_prob(jnp.asarray(value)))
    for c in range(n_cells):
        rows = cell_index == c
        cov = np.diag(var[rows]) + s2
        dense = stats.multivariate_normal(mean[rows], cov).logpdf(value[rows])
        assert lp[rows].sum() == pytest.approx(dense, rel=1e-5)  # float32
    # the level given the runs: Gaussian, precision 1/s2 + sum(1/var), against brute force
    offset, sd = sweep.level_posterior(
        jnp.asarray(value - mean), jnp.asarray(var), s2, jnp.asarray(cell_index), n_cells
    )
    for c in range(n_cells):
        rows = cell_index == c
        prec = 1 / s2 + (1 / var[rows]).sum()
        assert float(sd[c]) == pytest.approx(prec**-0.5, rel=1e-5)
        expected = ((value - mean)[rows] / var[rows]).sum() / prec
        assert float(offset[c]) == pytest.approx(expected, rel=1e-5)


def test_bowl_is_convex_with_its_minimum_at_the_optimum():
    theta = {"k_lr": 0.002, "k_batch": 0.003, "lr_asym": 0.8, "batch_asym": -0.4, "valley": 0.5}
    u, v = np.meshgrid(np.linspace(-2, 2, 41), np.linspace(-2, 2, 41))
    bowl = np.asarray(sweep.SweepLaw.bowl_value(theta, u, v))
    assert bowl.min() == 0.0 and bowl[20, 20] == 0.0 and (bowl >= 0).all()
    # along the valley line v = 0.5 u: e^0.8 times steeper above the optimal lr (lr_asym > 0)
    assert bowl[25, 30] / bowl[15, 10] == pytest.approx(np.exp(0.8), rel=1e-5)


# ---- the fit ---------------------------------------------------------------------------------
def test_recovers_the_simulated_optima_and_surface(sweep_fit):
    """SIMULATED truth: eta_opt, B_opt (tokens) and L*(N, D) at the fitted cells inside the
    posterior's 95% intervals (7 of 9 cells at least), and the medians close (eta within 20%,
    B within 15%, L* within 0.1%)."""
    fit, _ = sweep_fit
    N, D = np.meshgrid(SIZES, TOKENS)
    N, D = N.ravel(), D.ravel()
    pred = bl.predict(fit, N=N, D=D, ci=0.95, extrapolation="none")
    for quantity, truth, rtol in (
        ("eta_opt", TRUTH.eta_opt(N, D), 0.2),
        ("B_opt", TRUTH.b_opt(N, D), 0.15),
        ("", TRUTH.loss_star(N, D), 0.001),
    ):
        prefix = f"{quantity}_" if quantity else ""
        lo, med, hi = (pred[f"{prefix}{k}"].to_numpy() for k in ("lower", "median", "upper"))
        inside = (lo <= truth) & (truth <= hi)
        assert inside.mean() >= 7 / 9, (quantity, lo, truth, hi)
        assert np.all(np.abs(med / truth - 1) < rtol), (quantity, med, truth)


def test_excluded_runs_are_recorded(sweep_fit):
    fit, caught = sweep_fit
    record = fit.record.data
    assert record["n_input_rows"] == len(damaged_sweep())
    assert record["n_rows_used"] == len(damaged_sweep()) - 2
    reasons = " ".join(e["reason"] for e in record["exclusions"])
    assert "NaN" in reasons and "fence" in reasons
    state = fit.record.law_state["divergence"]
    assert state["n_excluded"] == 2 and state["fence"] == sweep.FENCE
    assert any("2 of" in note and "excluded" in note for note in fit.record.notes)
    assert any(issubclass(w.category, DivergenceWarning) for w in caught)


def test_sampler_diagnostics_are_reported(sweep_fit):
    fit, _ = sweep_fit
    summary = fit.summary()
    for name in ("alpha", "beta", "E", "level_scatter", "lr_N", "batch_D", "tau", "sigma", "k_lr"):
        assert name in summary.index
    # the shape scatters are held at zero by default: not sampled, so not in the diagnostics
    assert "k_lr_scatter" not in summary.index
    assert np.all(np.asarray(fit.idata.posterior["k_lr_scatter"]) == 0)
    d = fit.diagnostics
    assert d.max_r_hat == pytest.approx(summary["r_hat"].max(), abs=0.01)
    diverging = int(np.asarray(fit.idata.sample_stats["diverging"]).sum())
    assert d.divergences == diverging
    assert d.n_draws == 500


def test_allocation_and_penalty(sweep_fit):
    fit, _ = sweep_fit
    a = bl.optimal_allocation(fit, C=[1e20], extrapolation="none").iloc[0]
    assert a["N_opt_lower"] < a["N_opt"] < a["N_opt_upper"]
    eta = TRUTH.eta_opt(SIZES[1], TOKENS[1])
    p = bl.predict(
        fit,
        N=[SIZES[1]] * 2,
        D=[TOKENS[1]] * 2,
        lr=[eta, 8 * eta],
        batch_size=[TRUTH.b_opt(SIZES[1], TOKENS[1])] * 2,
    )
    # 8x the optimal lr costs more than the optimum itself
    assert p["rel_penalty_median"].iloc[1] > p["rel_penalty_median"].iloc[0] >= 0


def test_lr_without_batch_size_is_refused(sweep_fit):
    """One of lr, batch_size alone would give the loss at the optimum under an lr column."""
    fit, _ = sweep_fit
    N, D = SIZES[1], TOKENS[1]
    with pytest.raises(ValueError, match="lr and batch_size together: got lr without batch_size"):
        bl.predict(fit, N=N, D=D, lr=3e-4)
    with pytest.raises(ValueError, match="got batch_size without lr"):
        bl.predict(fit, N=N, D=D, batch_size=4e4)
    with pytest.raises(ValueError, match="loss_penalty\\(\\): lr is required"):
        bl.loss_penalty(fit, N, D, None, 4e4)


def test_a_setting_far_off_the_swept_range_is_flagged(sweep_fit):
    """lr and batch size 100x outside the swept range warn (likely other units); a setting a
    decade outside does not."""
    fit, _ = sweep_fit
    low, high = fit.record.ranges["lr"]
    b_low, b_high = fit.record.ranges["batch_size"]
    N, D = SIZES[1], TOKENS[1]
    with pytest.warns(PlausibilityWarning) as caught:
        bl.loss_penalty(fit, N, D, lr=high * 300, batch_size=b_low / 300)
    text = " ".join(str(w.message) for w in caught)
    assert "lr = " in text and "batch_size = " in text
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlausibilityWarning)
        bl.loss_penalty(fit, N, D, lr=high * 10, batch_size=b_low / 10)


def test_best_run_predicts_where_a_repeated_grids_best_run_lands(sweep_fit):
    """SIMULATED: 20 fresh noise draws of a fitted cell's grid (the truth's own runs); the
    best run's lr and batch of each inside best_run's 90% intervals in at least 15 of 20
    (the intervals are of a replicate of that cell, not of the smooth optimum)."""
    fit, _ = sweep_fit
    n, d = SIZES[1], TOKENS[1]
    inside = np.zeros(2, int)
    for seed in range(100, 120):
        cell = sim.simulate_video_dit_sweep(seed=seed, sizes=(n,), tokens=(d,), noise_sd=3e-4)
        best = cell.loc[cell["loss"].idxmin()]
        r = sweep.best_run(fit, n, d, cell["lr"], cell["batch_size"], seed=seed)
        assert r["p_best"].sum() == pytest.approx(1.0)
        for j, name in enumerate(("lr", "batch_size")):
            lo, med, hi = r[name]
            assert lo <= med <= hi and {lo, med, hi} <= set(cell[name])
            assert cell[name].min() < lo and hi < cell[name].max()  # not the whole grid
            inside[j] += lo <= best[name] <= hi
    assert (inside >= 15).all(), inside


# ---- the optima laws' discrepancy beyond the fitted range ---------------------------------------
def _new_run_optima(law, fit, N, D, seed=0):
    post = fit.posterior()
    N, D = np.atleast_1d(np.asarray(N, float)), np.atleast_1d(np.asarray(D, float))
    return law.optimum_draws(post, N, D, kind="new_run", rng=np.random.default_rng(seed))


def test_cell_distances_are_the_drifts_axis_distances():
    from bayeslaws.posterior.extrapolation import drift

    cells = {"N": [2e8, 5e8, 3e8], "D": [4e9, 1e11, 2e10]}
    N, D = np.array([1e8, 3e8, 1.07e9, 2e9]), np.array([2e10, 3e11, 5e9, 1e9])
    ranges = {"N": [2e8, 5e8], "D": [4e9, 1e11], "C": [1.0, 1e30]}
    expected = drift.axis_distances(N, D, 6 * N * D, ranges)[:, :4]
    assert tuple(drift.AXES[:4]) == sweep.DRIFT_AXES
    np.testing.assert_allclose(sweep.cell_distances(N, D, cells), expected)
    assert sweep.cell_distances(N, D, cells)[2, 0] == pytest.approx(np.log10(1.07e9 / 5e8))


def test_optima_drift_does_nothing_inside_the_fitted_range(sweep_fit):
    """At a fitted cell and between the cells the new_run optima are the same draws with the
    term (the shipped sds, and a large one) as without it."""
    fit, _ = sweep_fit
    N = [SIZES[1], 0.09e9, SIZES[0]]  # a fitted cell's N, between two, the smallest
    D = [TOKENS[1], 3e9, TOKENS[2]]
    off = _new_run_optima(fit.law.configure(optima_drift=[0.0, 0.0]), fit, N, D)
    for law in (fit.law, fit.law.configure(optima_drift=[0.5, 0.5])):
        on = _new_run_optima(law, fit, N, D)
        for a, b in zip(on, off, strict=True):
            np.testing.assert_array_equal(a, b)


def test_optima_drift_widens_new_run_intervals_with_the_distance(sweep_fit):
    """Beyond the largest N the new_run ln eta_opt and ln B_opt spread more than without the
    term, increasingly with the distance; the added sd is the per-decade sd times the
    decades, and one draw shares its slope across points (a whole function per draw)."""
    fit, _ = sweep_fit
    tau = (0.2, 0.4)
    law = fit.law.configure(optima_drift=list(tau))
    decades = np.array([0.25, 0.5, 1.0])
    N, D = SIZES[-1] * 10**decades, np.full(3, TOKENS[1])
    on = _new_run_optima(law, fit, N, D)
    off = _new_run_optima(fit.law.configure(optima_drift=[0.0, 0.0]), fit, N, D)
    for j, (a, b) in enumerate(zip(on, off, strict=True)):
        width_on = np.diff(np.quantile(a, [0.05, 0.95], axis=0), axis=0).ravel()
        width_off = np.diff(np.quantile(b, [0.05, 0.95], axis=0), axis=0).ravel()
        assert np.all(width_on > width_off) and np.all(np.diff(width_on / width_off) > 0)
        spread = np.sqrt(a.var(axis=0) - b.var(axis=0))  # the term is independent of the rest
        np.testing.assert_allclose(spread, tau[j] * decades, rtol=0.2)
    shift_lr, _ = law.optima_drift_draws(fit.posterior(), N, D, np.random.default_rng(1))
    np.testing.assert_allclose(shift_lr[:, 2], shift_lr[:, 0] * decades[2] / decades[0])


def test_shipped_optima_drift_reaches_predict_and_best_run(sweep_fit):
    """The default law carries OPTIMA_DRIFT: at 1 decade beyond the largest N, bl.predict's
    new_run eta_opt and B_opt intervals are wider than with the term off (fails if the term is
    removed), and best_run's predictive of the grid's best run spreads wider too."""
    fit, _ = sweep_fit
    assert fit.law.optima_drift == (sweep.OPTIMA_DRIFT["lr"], sweep.OPTIMA_DRIFT["batch"])
    assert min(fit.law.optima_drift) > 0
    n, d = 10 * SIZES[-1], TOKENS[1]
    on = bl.predict(fit, N=n, D=d, kind="new_run", seed=0).iloc[0]
    log_eta, log_b = _new_run_optima(fit.law.configure(optima_drift=[0.0, 0.0]), fit, n, d)
    for q, draws in (("eta_opt", log_eta), ("B_opt", log_b)):
        lo, hi = np.exp(np.quantile(draws[:, 0], [0.05, 0.95]))
        assert on[f"{q}_upper"] / on[f"{q}_lower"] > 1.1 * hi / lo, q
    # best_run: the spread of the grid's best run (its lr and batch) grows with the term
    lr = TRUTH.eta_opt(n, d) * 2.0 ** np.arange(-4, 4.5, 0.5)
    grid_lr, grid_b = np.meshgrid(lr, TRUTH.b_opt(n, d) * 2.0 ** np.arange(-4, 4.5, 0.5))
    grid_lr, grid_b = grid_lr.ravel(), grid_b.ravel()
    off_fit = SimpleNamespace(law=fit.law.configure(optima_drift=[0.0, 0.0]),
                              posterior=fit.posterior)
    spread = []
    for f in (fit, off_fit):
        p = sweep.best_run(f, n, d, grid_lr, grid_b, seed=0)["p_best"]
        spread.append([np.sqrt(np.cov(np.log(g), aweights=p)) for g in (grid_lr, grid_b)])
    assert np.all(np.array(spread[0]) > np.array(spread[1])), spread


def test_optima_drift_option_is_checked():
    assert sweep.SweepLaw(optima_drift=(0.1, 0.2)).options["optima_drift"] == [0.1, 0.2]
    assert sweep.SweepLaw(optima_drift=0.3).optima_drift == (0.3, 0.3)
    for bad in ((-0.1, 0.2), (0.1,), "wide", (np.nan, 0.1), "12", "0.5"):
        with pytest.raises(ValueError, match="optima_drift"):
            sweep.SweepLaw(optima_drift=bad)


def test_near_optimal_measures_the_tolerance_above_the_surfaces_floor(sweep_fit):
    """The sweep law's floor is its surface's irreducible loss E: near_optimal's default
    tolerance is a share of the reducible loss, not of the total."""
    fit, _ = sweep_fit
    near = bl.near_optimal(fit, 1e21)
    assert near.floor is not None
    floor_median = near.floor[0]
    assert abs(floor_median / TRUTH.E - 1) < 0.2  # the simulator's irreducible loss
    assert near.reducible_share[0] < 0.5  # most of the loss at 1e21 is the floor


# ---- bad input -------------------------------------------------------------------------------
def _runs(df):
    return bl.load_runs(df, allow_missing_loss=True)


def test_shape_scatter_option_samples_the_scatters():
    on = sweep.SweepLaw(shape_scatter=True)
    names = on.summary_names((None,), "gaussian")
    assert {f"{k}_scatter" for k in sweep.SHAPE_SCATTER} <= set(names)
    assert not {f"{k}_scatter" for k in sweep.SHAPE_SCATTER} & set(
        sweep.LAW.summary_names((None,), "gaussian")
    )
    with pytest.raises(ValueError, match="shape_scatter"):
        sweep.SweepLaw(shape_scatter="yes")


def test_bad_input_is_refused_by_name():
    df = small_sweep()
    law = sweep.LAW
    with pytest.raises(RunTableError, match="'lr'"):
        law.prepare(_runs(df.drop(columns="lr")))
    with pytest.raises(RunTableError, match="groups"):
        law.prepare(_runs(df.assign(group=np.where(df["N"] > 1e8, "a", "b"))))
    two_lr = df[df["lr"].isin(np.sort(df["lr"].unique())[:2])]
    with pytest.raises(RunTableError, match="'lr'"):
        law.prepare(_runs(two_lr))
    one_size = df[df["N"] == SIZES[0]]
    with pytest.raises(RunTableError, match="'N'"):
        law.prepare(_runs(one_size))
    few_cells = df[df["D"] != TOKENS[2]]  # 6 cells: fine; 4 cells: too few for 5 parameters
    law.prepare(_runs(few_cells))
    with pytest.raises(RunTableError, match="cells"):
        law.prepare(_runs(few_cells[few_cells["N"] != SIZES[2]]))
    with pytest.raises(RunTableError, match="every run diverged"):
        law.prepare(_runs(df.assign(diverged=True)))
    with pytest.raises(ValueError, match="surface"):
        sweep.SweepLaw(surface="quadratic")
    with pytest.raises(ValueError, match="fence"):
        sweep.SweepLaw(fence=-1)
    with pytest.raises(ValueError, match="divergence_threshold"):
        sweep.SweepLaw(divergence_threshold="high")
    with pytest.raises(ValueError, match="likelihood"):
        bl.fit(_runs(df), law="sweep", likelihood="student_t")
    with pytest.raises(TypeError, match="fenc"):
        bl.fit(_runs(df), law="sweep", fenc=2)


def test_only_the_chinchilla_surface_is_accepted():
    """The surface is sampled in Chinchilla's coordinates (SweepLaw.sample_surface): another
    surface law is refused by name when the law is built and at bl.fit (it once failed with a
    KeyError at the first model evaluation)."""
    assert sweep.SweepLaw().surface == "chinchilla"
    runs = _runs(small_sweep())
    for name in ("kaplan", "chinchilla_gamma", "farseer"):
        refused = rf"surface must be one of \['chinchilla'\], got '{name}'"
        with pytest.raises(ValueError, match=refused):
            sweep.SweepLaw(surface=name)
        with pytest.raises(ValueError, match=f"got '{name}'"):
            bl.fit(runs, law="sweep", surface=name, chains=1, warmup=5, draws=5)


def test_fence_finds_the_cliff_only():
    """The far-out fence: the damaged sweep's cliff run and nothing else; no fence, no
    exclusion beyond the NaN run."""
    df = damaged_sweep()
    mask, reasons = sweep.LAW.excluded_mask(df)
    assert mask.sum() == 2 and mask[-1] and mask[-2]
    no_fence = sweep.SweepLaw(fence=None)
    mask, _ = no_fence.excluded_mask(df)
    assert mask.sum() == 1 and mask[-1]


def test_fence_needs_enough_converged_runs_in_the_cell():
    """Quartiles of a handful of runs fence good runs: the cell's own fence applies only in
    cells with at least FENCE_MIN_RUNS converged runs (the cliff run counts as one; the NaN run
    does not); in a smaller cell the fence pooled over the sweep's cells catches the cliff run."""
    df = damaged_sweep()
    first = (df["N"] == SIZES[0]) & (df["D"] == TOKENS[0])
    damaged = df.index[-2:]  # the cliff run, the NaN run
    normal = df.index[first & ~df.index.isin(damaged)]
    for n_normal, fence in (
        (sweep.FENCE_MIN_RUNS - 2, "pooled over the sweep's cells"),
        (sweep.FENCE_MIN_RUNS - 1, "their cell's far-out fence"),
    ):
        keep = df.index[~first].append(normal[:n_normal]).append(damaged)
        mask, reasons = sweep.LAW.excluded_mask(df.loc[keep])
        assert mask[-2] and mask[-1], (n_normal, reasons)
        assert mask.sum() == 2
        assert fence in " ".join(map(str, reasons)), (n_normal, reasons)


def test_cells_up_to_rounding_and_cells_without_a_converged_run():
    """N that differ by rounding are one cell; a cell all of whose runs diverged is counted."""
    df = small_sweep()[["N", "D", "lr", "batch_size", "loss"]]
    first = df.index[(df["N"] == SIZES[0]) & (df["D"] == TOKENS[0])]
    rounded = df.copy()
    rounded.loc[first[::2], "N"] *= 1 + 1e-12
    assert len(sweep.LAW.prepare(_runs(rounded)).state["cells"]["N"]) == 9
    lost = df.copy()
    lost.loc[first, "loss"] = np.nan
    with pytest.warns(DivergenceWarning, match="1 \\(N, D\\) cells left with no converged run"):
        prepared = sweep.LAW.prepare(_runs(lost))
    assert len(prepared.state["cells"]["N"]) == 8
    assert prepared.state["divergence"]["n_cells_without_converged_run"] == 1
    assert "1 (N, D) cells left with no converged run" in prepared.notes[0]


def test_law_options_reach_the_law_or_are_refused_by_name():
    """``bl.fit(runs, law="hyperparams", far_above=0.03)`` configures the law (issue 13: it once
    failed with a message about 'method'); a bad value names the option."""
    from bayeslaws.laws import resolve_law

    assert resolve_law("hyperparams", {"far_above": 0.03}).far_above == 0.03
    assert resolve_law("sweep", {"fence": 2}).fence == 2.0
    runs = _runs(small_sweep())
    for law, option, value in (
        ("hyperparams", "far_above", "x"),
        ("hyperparams", "far_above", 30),
        ("hyperparams", "divergence_threshold", -1),
        ("sweep", "divergence_threshold", "high"),
        ("sweep", "fence", True),
    ):
        with pytest.raises(ValueError, match=f"'{option}'"):
            bl.fit(runs, law=law, **{option: value})


# ---- the seed's fixed-vs-optimal question ------------------------------------------------------
def test_fixed_vs_optimal_covers_the_simulators_answer(sweep_fit):
    fit, _ = sweep_fit
    out = bl.fixed_vs_optimal(fit, 1e21, n_draws=60).iloc[0]
    assert out["size_change_lower"] < out["size_change_median"] < out["size_change_upper"]
    assert out["settled"] == (out["size_change_lower"] > 0 or out["size_change_upper"] < 0)
    assert out["verdict"].startswith("settled" if out["settled"] else "not settled")
    cells = fit.training_runs().df[["N", "D"]].drop_duplicates()
    truth = truth_size_change(TRUTH, cells, 1e21, out["lr"], out["batch_size"],
                              bl.compute.linear(6.0))
    assert abs(truth) > 0.05  # the question has a non-trivial answer on this design
    assert out["size_change_lower"] <= truth <= out["size_change_upper"]
    # the default setting passed explicitly gives the same answer (same draws, same refits)
    again = bl.fixed_vs_optimal(
        fit, 1e21, lr=out["lr"], batch_size=out["batch_size"], cells=cells, n_draws=60
    ).iloc[0]
    assert again["size_change_median"] == pytest.approx(out["size_change_median"], rel=1e-9)


def test_fixed_vs_optimal_refuses_what_it_cannot_answer(sweep_fit):
    fit, _ = sweep_fit
    with pytest.raises(ValueError, match="at least 5"):
        bl.fixed_vs_optimal(fit, 1e21, cells=pd.DataFrame({"N": [1e8, 2e8], "D": [1e9, 2e9]}))
    with pytest.raises(ValueError, match="C"):
        bl.fixed_vs_optimal(fit, -1.0)
    with pytest.raises(ValueError, match="single budget"):
        bl.fixed_vs_optimal(fit, [1e21, 1e22])
    with pytest.raises(ValueError, match="lr must be a single value"):
        bl.fixed_vs_optimal(fit, 1e21, lr=[1e-4, 2e-4], batch_size=4e4, n_draws=10)
    # one or two token budgets cannot pin the refit's B D^-beta term beside E: refused, not a
    # "settled" verdict set by the optimiser's start
    for tokens in ([4e9] * 5, [2e9, 8e9] * 3):
        cells = pd.DataFrame({"N": np.geomspace(1e7, 1.6e8, len(tokens)), "D": tokens})
        with pytest.raises(ValueError, match="distinct D value"):
            bl.fixed_vs_optimal(fit, 1e21, cells=cells, n_draws=10)
    # a budget or a fixed setting in other units is flagged, not answered silently
    with pytest.warns(PlausibilityWarning, match="C = 1e\\+10 .* decades outside"):
        bl.fixed_vs_optimal(fit, 1e10, n_draws=10)
    with pytest.warns(PlausibilityWarning, match="lr = 1e\\+03"):
        bl.fixed_vs_optimal(fit, 1e21, lr=1e3, batch_size=2**17, n_draws=10)


def test_fixed_vs_optimal_takes_one_element_lists_as_values(sweep_fit):
    """[1e21] is one budget (as near_optimal takes it) and [lr] one setting: the same answer."""
    fit, _ = sweep_fit
    scalar = bl.fixed_vs_optimal(fit, 1e21, lr=1e-3, batch_size=4e4, n_draws=10).iloc[0]
    listed = bl.fixed_vs_optimal(
        fit, [1e21], lr=np.array([1e-3]), batch_size=[4e4], n_draws=10
    ).iloc[0]
    assert listed["C"] == 1e21 and listed["lr"] == 1e-3 and listed["batch_size"] == 4e4
    assert listed["size_change_median"] == scalar["size_change_median"]


def test_fixed_vs_optimal_reports_refits_at_the_searched_edge(sweep_fit):
    """A budget whose refitted N_opt runs past the searched sizes (1e14 params) is flagged, in
    a warning and in at_boundary; an ordinary budget has none."""
    fit, _ = sweep_fit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlausibilityWarning)  # C far outside the runs
        with pytest.warns(UserWarning, match="edge of the searched sizes"):
            far = bl.fixed_vs_optimal(fit, 1e40, n_draws=10).iloc[0]
    assert far["at_boundary"] > 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        near = bl.fixed_vs_optimal(fit, 1e20, n_draws=10).iloc[0]  # < 2 decades out
    assert near["at_boundary"] == 0


def test_the_fence_minimum_changes_nothing_on_full_sweeps(monkeypatch):
    """FENCE_MIN_RUNS keeps the fence off sparse cells; on the full bundled sweep and on Step
    Law (every cell well above the minimum) it excludes the same runs as without it."""
    from bayeslaws.laws import sweep as sweep_module
    from bayeslaws.runs import bundled

    tables = [bl.load_bundled()]
    try:
        tables.append(bundled.steplaw_dense())
    except bundled.SharedDataMissing:
        pass  # the bundled sweep alone
    law = bl.laws.resolve_law("sweep")
    with_minimum = [law.excluded_mask(t.df)[0] for t in tables]
    monkeypatch.setattr(sweep_module, "FENCE_MIN_RUNS", 0)
    without = [law.excluded_mask(t.df)[0] for t in tables]
    for a, b in zip(with_minimum, without, strict=True):
        np.testing.assert_array_equal(a, b)
