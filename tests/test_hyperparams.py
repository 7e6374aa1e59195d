"""Law "hyperparams" (optimal lr and batch size over every run) and the two-stage baseline
(law "hyperparams_two_stage").

One small NUTS fit (2 chains x 300 + 300) of a simulated video-DiT sweep is shared by the tests
(and a tiny one, 1 x 100 + 50, with ``bowl_scale="loss"`` for its observations);
the errors and the divergence bookkeeping run without sampling; the two-stage baseline is a tiny
NUTS fit (a linear regression) whose posterior is checked against numpy OLS + scipy t intervals.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import bayeslaws as bl
from bayeslaws.laws.hyperparams import (
    DivergenceWarning,
    HyperparamsLaw,
    TwoStageHyperparams,
    log_survival,
)
from bayeslaws.laws.hyperparams.data import exclude_diverged
from bayeslaws.runs import PlausibilityWarning, RunTableError
from bayeslaws.runs.simulate import VideoDiTTruth, simulate_video_dit_sweep

TRUTH = VideoDiTTruth()
SIZES = (0.017e9, 0.057e9, 0.26e9)
TOKENS = (2e9, 5e9, 12e9)


def small_sweep(seed=1):
    """3 sizes x 3 budgets x 6 lr x 6 batch = 324 runs; the last run of the sweep diverged."""
    df = simulate_video_dit_sweep(seed=seed, sizes=SIZES, tokens=TOKENS)
    df.loc[df.index[-1], "loss"] = np.nan  # a diverged run (NaN loss)
    return df


@pytest.fixture(scope="module")
def sweep():
    return bl.load_runs(small_sweep(), allow_missing_loss=True)


@pytest.fixture(scope="module")
def fit(sweep):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(
            sweep,
            law="hyperparams",
            seed=0,
            chains=2,
            warmup=300,
            draws=300,
            law_options={"divergence_threshold": 0.6},
        )


def test_recovery_wide_intervals(fit):
    table = fit.law_table(units="billions", ci=0.99)
    truth = {
        ("eta_opt", "exp_T"): TRUTH.eta_exp_T,
        ("eta_opt", "exp_N"): TRUTH.eta_exp_N,
        ("B_opt", "exp_T"): TRUTH.b_exp_T,
        ("B_opt", "exp_N"): TRUTH.b_exp_N,
        ("B_opt", "c"): TRUTH.b_coef,
        ("eta_opt", "c"): TRUTH.eta_coef,
    }
    for key, value in truth.items():
        row = table.loc[key]
        assert row["lower"] < value < row["upper"], (key, value, row.to_dict())
    assert fit.diagnostics.divergences == 0
    assert fit.diagnostics.max_r_hat < 1.05


def test_predict_optimum_and_loss(fit):
    out = bl.predict(fit, N=1.07e9, D=[4e9, 1e10], ci=0.9)
    assert len(out) == 2
    for name in ("eta_opt", "B_opt"):
        assert (out[f"{name}_lower"] < out[f"{name}_median"]).all()
        assert (out[f"{name}_median"] < out[f"{name}_upper"]).all()
    # the truth's optimum (an extrapolation to 1.07B) inside a generous interval
    wide = bl.predict(fit, N=1.07e9, D=1e10, ci=0.99)
    assert wide["B_opt_lower"][0] < TRUTH.b_opt(1.07e9, 1e10) < wide["B_opt_upper"][0]
    assert wide["eta_opt_lower"][0] < TRUTH.eta_opt(1.07e9, 1e10) < wide["eta_opt_upper"][0]
    # free loss level: known at a fitted cell, NaN elsewhere
    at_cell = bl.predict(fit, N=SIZES[0], D=TOKENS[0])
    star = TRUTH.loss_star(SIZES[0], TOKENS[0])
    assert abs(at_cell["loss_opt_median"][0] / star - 1) < 0.003
    assert out["loss_opt_median"].isna().all()


def test_loss_penalty(fit):
    opt = bl.predict(fit, N=SIZES[1], D=TOKENS[1])
    far = bl.loss_penalty(
        fit,
        N=SIZES[1],
        D=TOKENS[1],
        lr=opt["eta_opt_median"][0] * 4,
        batch_size=opt["B_opt_median"][0] / 4,
    )
    near = bl.loss_penalty(
        fit, N=SIZES[1], D=TOKENS[1], lr=opt["eta_opt_median"][0], batch_size=opt["B_opt_median"][0]
    )
    assert far["rel_penalty_median"][0] > near["rel_penalty_median"][0] >= 0
    true_rel = TRUTH.bowl(
        SIZES[1], TOKENS[1], opt["eta_opt_median"][0] * 4, opt["B_opt_median"][0] / 4
    ) / TRUTH.loss_star(SIZES[1], TOKENS[1])
    assert far["rel_penalty_lower"][0] < true_rel < far["rel_penalty_upper"][0] * 1.5
    assert (far["penalty_median"] > 0).all()  # at a fitted cell the level is known


def test_divergence_counted(fit):
    div = fit.record.law_state["divergence"]
    assert div["mode"] == "censor" and div["n_censored"] == 1
    assert div["censored_at_loss"] == 0.6
    assert "1 diverged runs censored" in fit.record.notes[0]


def test_save_load_predicts_identically(fit, tmp_path):
    path = fit.save(tmp_path / "hp.nc")
    back = bl.load_fit(path)
    a = bl.predict(fit, N=7e9, D=2e11)
    b = bl.predict(back, N=7e9, D=2e11)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(fit.law_table(), back.law_table())
    assert back.record.law_options == fit.record.law_options
    assert back.law == fit.law


def test_exclude_records_and_counts(sweep):
    law = HyperparamsLaw(divergence="exclude", divergence_threshold=0.6)
    with pytest.warns(DivergenceWarning, match="1 diverged runs excluded"):
        runs = exclude_diverged(law, sweep)
    assert len(runs) == len(sweep) - 1
    assert runs.record()["exclusions"][0]["count"] == 1
    div = law.prepare(runs).state["divergence"]
    assert div["n_excluded"] == 1 and div["n_censored"] == 0


def test_censor_threshold_and_flag(sweep):
    df = sweep.df.copy()
    df["diverged"] = False
    df.loc[df.index[0], "diverged"] = True
    runs = bl.load_runs(df, allow_missing_loss=True)
    with pytest.warns(DivergenceWarning, match="2 diverged runs censored"):
        prepared = HyperparamsLaw().prepare(runs)
    assert int(np.asarray(prepared.data["censored"]).sum()) == 2
    # no threshold: censored at the largest converged loss
    converged = df["loss"].iloc[1:].dropna()
    assert prepared.state["divergence"]["censored_at_loss"] == pytest.approx(converged.max())


@pytest.mark.parametrize("family", ["gaussian", "student_t", "huber"])
def test_log_survival_matches_numeric_integral(family):
    from bayeslaws.laws.likelihoods import observation

    mu, sigma, nu = 0.1, 0.5, 4.0
    grid = np.linspace(-12, 12, 200001)
    dens = np.exp(np.asarray(observation(family, mu, sigma, nu).log_prob(grid)))
    for t in (-1.5, 0.0, 0.3, 1.4):
        numeric = np.trapezoid(dens[grid >= t], grid[grid >= t])
        exact = float(np.exp(log_survival(family, t, mu, sigma, nu)))
        assert exact == pytest.approx(numeric, abs=2e-3)


@pytest.mark.parametrize("nu", [2.5, 4.0, 20.0, 50.0, 150.0])
def test_student_t_log_survival_is_exact_far_in_the_tail(nu):
    """A censored run predicted far below its threshold keeps pulling: ln P(T >= t) and its
    slope match scipy where the survival is below float32's range (a clipped survival gave a
    flat -69.08 and a zero gradient there)."""
    import jax
    import jax.numpy as jnp
    from scipy import stats

    from bayeslaws.laws.hyperparams.law import student_t_logsf

    # 19-21 at nu 150: the distribution's own survival underflows while x is still above 0.25
    t = np.array([-30, -3, -0.5, 0.5, 1, 3, 8, 19.1, 20, 21.2, 40, 80, 188, 500, 1e4], np.float32)
    t = t[np.isfinite(stats.t.logsf(t.astype(float), nu))]  # where scipy itself is finite
    exact = stats.t.logsf(t.astype(float), nu)
    slope = -np.exp(stats.t.logpdf(t.astype(float), nu) - exact)  # d/dt ln sf = -pdf / sf
    got = np.asarray(student_t_logsf(jnp.asarray(t), nu))
    grad = np.asarray(jax.vmap(jax.grad(lambda u: student_t_logsf(u, nu)))(jnp.asarray(t)))
    np.testing.assert_allclose(got, exact, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(grad, slope, rtol=1e-3, atol=1e-7)
    assert np.all(np.diff(got) < 0)  # strictly decreasing: no flat floor
    # through the censored likelihood's entry point, in (value, mu, sigma) units
    far = float(log_survival("student_t", 1.0, 0.0, 0.005, nu))
    assert far == pytest.approx(stats.t.logsf(200.0, nu), rel=1e-4)


def test_errors_name_the_column(sweep):
    no_lr = sweep.df.drop(columns=["lr"])
    with pytest.raises(RunTableError, match="'lr'"):
        bl.fit(bl.load_runs(no_lr, allow_missing_loss=True), law="hyperparams")
    no_b = sweep.df.drop(columns=["batch_size"])
    with pytest.raises(RunTableError, match="'batch_size'"):
        bl.fit(bl.load_runs(no_b, allow_missing_loss=True), law="hyperparams")
    one_cell = sweep.df[(sweep.df["N"] == SIZES[0]) & (sweep.df["D"] == TOKENS[0])]
    with pytest.raises(RunTableError, match=r"at least 3 \(N, D\) cells"):
        bl.fit(bl.load_runs(one_cell), law="hyperparams")
    one_size = sweep.df[sweep.df["N"] == SIZES[0]]
    with pytest.raises(RunTableError, match="'N'"):
        bl.fit(bl.load_runs(one_size), law="hyperparams")
    with pytest.raises(ValueError, match="bowl"):
        bl.fit(sweep, law="hyperparams", law_options={"bowl": "round"})
    with pytest.raises(ValueError, match="unknown option"):
        bl.fit(sweep, law="hyperparams", law_options={"colour": 1})
    # method= is gone (the two-stage baseline is law "hyperparams_two_stage"): rejected by name
    with pytest.raises(TypeError, match="method"):
        bl.fit(sweep, law="hyperparams", method="grid")


TWO_STAGE_SAMPLER = {"chains": 4, "warmup": 500, "draws": 2000, "seed": 0, "warn": False}


def _selected(df, tolerance=None):
    """Stage 1 by hand: the rows of each (N, D) cell's lowest converged loss, or of every run
    within ``tolerance`` of it."""
    ok = df[np.isfinite(df["loss"])]
    best = ok.groupby(["N", "D"])["loss"].transform("min")
    if tolerance is None:
        chosen = ok.loc[ok.groupby(["N", "D"])["loss"].idxmin()]
    else:
        chosen = ok[ok["loss"] <= best * (1 + tolerance)]
    return chosen


def _ols_t_intervals(chosen, column, terms, ci, unit=1e9):
    """numpy OLS of ln(column) on [1, ln(N/unit), ln(D/unit)] (the terms kept) and the textbook
    t intervals of each coefficient: {"c": (median, lower, upper) of exp(intercept), "exp_N",
    "exp_T": ... on the natural scale}, and the standard errors."""
    X = [np.ones(len(chosen))]
    names = ["c"]
    for term, name in (("N", "exp_N"), ("D", "exp_T")):
        if term in terms:
            X.append(np.log(chosen[term].to_numpy(float) / unit))
            names.append(name)
    X = np.column_stack(X)
    y = np.log(chosen[column].to_numpy(float))
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    dof = len(y) - X.shape[1]
    resid = y - X @ beta
    se = np.sqrt(np.diag(resid @ resid / dof * np.linalg.inv(X.T @ X)))
    t = stats.t.ppf((1 + ci) / 2, dof)
    out = {}
    for name, b, s in zip(names, beta, se, strict=True):
        lo, med, hi = b - t * s, b, b + t * s
        out[name] = (np.exp([med, lo, hi]) if name == "c" else np.array([med, lo, hi]), s)
    return out


def _check_against_ols(table, quantity, ols, rtol_se):
    """Posterior median, lower and upper of the law table within ``rtol_se`` OLS standard errors
    of the OLS estimate and its t interval (on the log scale for the coefficient c)."""
    for param, (expected, se) in ols.items():
        row = table.loc[(quantity, param)]
        got = np.array([row["median"], row["lower"], row["upper"]])
        if param == "c":
            got, expected = np.log(got), np.log(expected)
        assert np.all(np.abs(got - expected) < rtol_se * se), (quantity, param, got, expected, se)


def test_two_stage(sweep):
    df = sweep.df
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ts = bl.fit(sweep, law="hyperparams_two_stage", **TWO_STAGE_SAMPLER)
    assert ts.likelihood == "gaussian"  # the law's default: OLS
    state = ts.record.law_state
    chosen = _selected(df)
    assert state["n_cells"] == 9 and state["n_selected"] == 9
    assert sorted(state["selected_rows"]) == sorted(str(i) for i in chosen.index)
    assert state["divergence"]["n_diverged"] == 1  # the NaN run, never selected
    assert str(df.index[-1]) not in state["selected_rows"]
    assert ts.diagnostics.divergences == 0 and ts.diagnostics.max_r_hat < 1.01

    # the posterior reproduces the OLS t intervals (flat priors, p(sigma) ~ 1/sigma), up to
    # Monte Carlo error: 8000 draws (ESS ~3500), so a quantile's MC sd is ~0.05 OLS standard
    # errors at 5% / 95% and ~0.2 at 0.5% / 99.5%; the tolerances are ~3-4 MC sd, well below the
    # t-vs-normal gaps (0.30 se at 90%, 1.13 se at 99%, 6 degrees of freedom)
    for ci, rtol_se in ((0.9, 0.2), (0.99, 0.6)):
        table = ts.law_table(units="billions", ci=ci)
        for quantity, column in (("eta_opt", "lr"), ("B_opt", "batch_size")):
            ols = _ols_t_intervals(chosen, column, ("N", "D"), ci)
            _check_against_ols(table, quantity, ols, rtol_se)
    table = ts.law_table(units="billions", ci=0.99)
    assert table.loc[("B_opt", "exp_T"), "lower"] < TRUTH.b_exp_T
    assert TRUTH.b_exp_T < table.loc[("B_opt", "exp_T"), "upper"]

    # predict: the regression line at a new point and its t interval
    out = bl.predict(ts, N=1.07e9, D=1e10, ci=0.9)
    assert out["B_opt_lower"][0] < out["B_opt_median"][0] < out["B_opt_upper"][0]
    X = np.column_stack(
        [np.ones(len(chosen)), np.log(chosen["N"] / 1.07e9), np.log(chosen["D"] / 1e10)]
    )
    for name, column in (("eta_opt", "lr"), ("B_opt", "batch_size")):
        y = np.log(chosen[column].to_numpy(float))
        beta, *_ = np.linalg.lstsq(X, y, rcond=None)
        resid = y - X @ beta
        dof = len(y) - X.shape[1]
        se = np.sqrt((resid @ resid / dof) * np.linalg.inv(X.T @ X)[0, 0])  # the line there
        t = stats.t.ppf(0.95, dof)
        expected = np.array([beta[0], beta[0] - t * se, beta[0] + t * se])
        got = np.log([out[f"{name}_median"][0], out[f"{name}_lower"][0], out[f"{name}_upper"][0]])
        assert np.all(np.abs(got - expected) < 0.2 * se), (name, got, expected, se)
    assert out["loss_opt_median"].isna().all()  # the baseline has no loss level

    # Step Law's variant: every run within 0.25% of the cell's best, B regressed on D only
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tol = bl.fit(
            sweep,
            law="hyperparams_two_stage",
            tolerance=0.0025,
            terms={"batch_size": ("D",)},
            **TWO_STAGE_SAMPLER,
        )
    near = _selected(df, tolerance=0.0025)
    assert tol.record.law_state["n_selected"] == len(near) > 9
    assert sorted(tol.record.law_state["selected_rows"]) == sorted(str(i) for i in near.index)
    tol_table = tol.law_table(units="billions", ci=0.9)
    assert ("B_opt", "exp_N") not in tol_table.index  # not in the fit: no row, not 0 [0, 0]
    assert "N^" not in tol_table.attrs["formulas"]["B_opt"]
    _check_against_ols(tol_table, "B_opt", _ols_t_intervals(near, "batch_size", ("D",), 0.9), 0.2)
    _check_against_ols(tol_table, "eta_opt", _ols_t_intervals(near, "lr", ("N", "D"), 0.9), 0.2)
    assert tol.record.law_state["divergence"]["n_diverged"] == 1  # the NaN run
    with pytest.raises(ValueError, match="loss_penalty"):
        bl.loss_penalty(ts, N=1e9, D=1e10, lr=1e-4, batch_size=1e5)


def test_far_above_the_bowl(sweep):
    law = HyperparamsLaw(far_above=0.01)
    df = sweep.df
    best = df.groupby(["N", "D"])["loss"].transform("min")
    expected = int((df["loss"] > best * 1.01).sum())
    assert expected > 0
    with pytest.warns(DivergenceWarning):
        div = law.prepare(sweep).state["divergence"]
    assert div["n_far_above"] == expected
    assert div["n_censored"] == expected + 1  # plus the NaN run
    with pytest.warns(DivergenceWarning, match="excluded"):
        kept = exclude_diverged(HyperparamsLaw(far_above=0.01, divergence="exclude"), sweep)
    assert len(kept) == len(sweep) - expected - 1


def test_default_bowl_and_loss_scale(sweep):
    import numpyro
    from numpyro.infer.util import log_density

    assert HyperparamsLaw().bowl == "full"  # chosen by PSIS-LOO on Step Law (see the docstring)
    with pytest.raises(ValueError, match="bowl_scale"):
        HyperparamsLaw(bowl_scale="linear")
    law = HyperparamsLaw(bowl_scale="loss", divergence_threshold=0.6)
    # ln(L* + bowl) - ln L*, with the bowl in L_ref units and level = ln(L* / L_ref)
    assert float(law.log_excess(0.01, np.log(0.5))) == pytest.approx(np.log1p(0.02))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = law.prepare(sweep)
    args = {
        **prepared.data,
        **prepared.static,
        "priors": law.priors("gaussian"),
        "likelihood": "gaussian",
    }
    trace = numpyro.handlers.trace(numpyro.handlers.seed(law.model, 0)).get_trace(**args)
    params = {
        k: v["value"] for k, v in trace.items() if v["type"] == "sample" and not v["is_observed"]
    }
    lp, _ = log_density(law.model, (), args, params)
    assert np.isfinite(float(lp))


@pytest.fixture(scope="module")
def loss_scale_fit(sweep):
    """A tiny fit (1 chain x 100 + 50) with the bowl in loss units."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.fit(
            sweep, law="hyperparams", bowl_scale="loss", seed=0, chains=1, warmup=100, draws=50,
            law_options={"divergence_threshold": 0.6},
        )


def test_observations_follow_the_loss_scale_bowl(loss_scale_fit, sweep):
    """With ``bowl_scale="loss"`` a candidate run's predicted ln loss (what design ranks runs
    by) is the model's, level + ln(1 + bowl e^(-level_mean)) at a fitted cell, not level + bowl;
    at a new cell the bowl is relative to L_ref (level 0), as quantity_draws takes it."""
    law, post = loss_scale_fit.law, loss_scale_fit.posterior()
    d, sc = post.draws, post.scales
    c = 0
    N0, D0 = post.state["cells"]["N"][c], post.state["cells"]["D"][c]
    cand = sweep.df[(sweep.df["N"] == N0) & (sweep.df["D"] == D0)]
    obs = law.observations(post, cand, group=None, rng=np.random.default_rng(0))
    th = {k: np.asarray(v, float)[:, None] for k, v in d.items() if np.ndim(v) == 1}
    cell = {k: np.asarray(d[k], float)[:, [c]] for k in ("z_lr", "z_batch", "level", "level_mean")}
    x, y = np.log(N0) - sc["N"], np.log(D0) - sc["D"]
    ln_eta = th["lr_int"] + th["lr_N"] * x + th["lr_D"] * y + th["lr_scatter"] * cell["z_lr"]
    ln_B = th["batch_int"] + th["batch_N"] * x + th["batch_D"] * y
    ln_B = ln_B + th["batch_scatter"] * cell["z_batch"]
    u = np.log(cand["lr"].to_numpy(float))[None, :] - sc["lr"] - ln_eta
    v = np.log(cand["batch_size"].to_numpy(float))[None, :] - sc["batch_size"] - ln_B
    bowl = np.asarray(law.bowl_value(th, u, v), float)
    excess = np.asarray(law.log_excess(bowl, cell["level_mean"]), float)
    assert np.abs(excess - bowl).max() > 1e-4  # the two scales differ on these runs
    np.testing.assert_allclose(obs.mean - cell["level"], excess, rtol=1e-5, atol=1e-8)
    # a new cell: the same draws of its optimum under either scale, the bowl relative to L_ref
    new = cand.assign(N=N0 * 1.7)
    on_log = HyperparamsLaw(divergence_threshold=0.6)
    a = law.observations(post, new, group=None, rng=np.random.default_rng(1))
    b = on_log.observations(post, new, group=None, rng=np.random.default_rng(1))
    assert np.abs(b.mean - np.log1p(b.mean)).max() > 1e-5
    np.testing.assert_allclose(a.mean, np.asarray(law.log_excess(b.mean, 0.0)), rtol=1e-5,
                               atol=1e-8)


# ---- cells: no converged run, rounding, groups, grid edges (no sampling) ---------------------
def _prior_log_density(law, prepared):
    """ln p of the model at one prior draw (finite if every cell is well defined)."""
    import numpyro
    from numpyro.infer.util import log_density

    args = {
        **prepared.data,
        **prepared.static,
        "priors": law.priors("huber"),
        "likelihood": "huber",
    }
    trace = numpyro.handlers.trace(numpyro.handlers.seed(law.model, 0)).get_trace(**args)
    params = {
        k: v["value"] for k, v in trace.items() if v["type"] == "sample" and not v["is_observed"]
    }
    return float(log_density(law.model, (), args, params)[0])


def _one_cell_diverged(df):
    """The sweep with every run of its first cell diverged (NaN loss)."""
    df = df.copy()
    first = (df["N"] == SIZES[0]) & (df["D"] == TOKENS[0])
    df.loc[first, "loss"] = np.nan
    return df, int(first.sum())


@pytest.mark.filterwarnings("ignore::bayeslaws.laws.hyperparams.data.DivergenceWarning")
@pytest.mark.filterwarnings("ignore::bayeslaws.runs.PlausibilityWarning")
def test_a_cell_without_a_converged_run_is_left_out_and_recorded(sweep):
    df, n_first = _one_cell_diverged(sweep.df)
    runs = bl.load_runs(df, allow_missing_loss=True)
    for divergence in ("censor", "exclude"):
        law = HyperparamsLaw(divergence=divergence, bowl="symmetric")
        with pytest.warns(DivergenceWarning, match="1 \\(N, D\\) cells with no converged run"):
            prepared = law.prepare(runs)
        assert len(prepared.state["cells"]["N"]) == 8  # of 9
        div = prepared.state["divergence"]
        assert div["n_cells_without_converged_run"] == 1
        assert div["n_runs_in_those_cells"] == n_first
        lost = [e for e in prepared.runs.exclusions if "no converged run" in e.reason]
        assert len(lost) == 1 and lost[0].count == n_first
        assert any("1 (N, D) cells with no converged run" in n for n in prepared.notes)
        assert np.isfinite(_prior_log_density(law, prepared))  # once NaN: mean bowl 0/0
    # the two-stage baseline says how many cells had no optimum to select
    with pytest.warns(DivergenceWarning, match="no converged run"):
        state = TwoStageHyperparams().prepare(runs).state
    assert state["n_cells"] == 8 and state["n_cells_without_converged_run"] == 1


def test_values_equal_up_to_rounding_are_one_cell(sweep):
    from bayeslaws.runs.cells import CELL_RTOL, cell_table, same_value_ids

    ids = same_value_ids([1e8, 1e8 * (1 + 1e-12), 1e8 * (1 + 1e-4), 2e8, 1e8 * (1 - 1e-9)])
    assert ids.tolist() == [0, 0, 1, 2, 0]
    index, cells = cell_table([1e8, 1e8 * (1 + CELL_RTOL / 10), 1e8], [1e9, 1e9, 2e9])
    assert index.tolist() == [0, 0, 1] and cells["N"].tolist() == [1e8, 1e8]

    df = sweep.df[["N", "D", "lr", "batch_size", "loss"]]  # C follows from N and D
    first = df.index[(df["N"] == SIZES[0]) & (df["D"] == TOKENS[0])]
    rounded = df.copy()
    rounded.loc[first[::2], "N"] *= 1 + 1e-12  # the same cell, written with rounding
    distinct = df.copy()
    distinct.loc[first[::2], "N"] *= 1.01  # a genuinely different size: a new cell
    two_stage = TwoStageHyperparams()
    for table, n_cells in ((rounded, 9), (distinct, 10)):
        runs = bl.load_runs(table, allow_missing_loss=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert len(HyperparamsLaw().prepare(runs).state["cells"]["N"]) == n_cells
            state = two_stage.prepare(runs).state
        assert state["n_cells"] == n_cells and state["n_selected"] == n_cells


def test_a_new_group_has_no_fitted_cell():
    """With several groups, group=None (a new group) is at no fitted cell: its loss level is
    unknown (NaN), never a fitted group's."""
    from types import SimpleNamespace

    from bayeslaws.laws.hyperparams.optima import fitted_cell

    cells = {"N": [1e8, 1e8], "D": [1e9, 1e9], "group": [0, 1]}
    grouped = SimpleNamespace(state={"cells": cells}, groups=("a", "b"))
    assert fitted_cell(grouped, 1e8, 1e9, None) is None
    assert fitted_cell(grouped, 1e8, 1e9, 1) == 1
    assert fitted_cell(grouped, 1e8 * (1 + 1e-9), 1e9, 0) == 0
    single = SimpleNamespace(state={"cells": {**cells, "group": [0, 0]}}, groups=(None,))
    assert fitted_cell(single, 1e8, 1e9, 0) == 0


def test_two_stage_refuses_groups_and_checks_tolerance(sweep):
    grouped = sweep.df.assign(group=np.where(sweep.df["D"] > 3e9, "a", "b"))
    runs = bl.load_runs(grouped, allow_missing_loss=True)
    with pytest.raises(RunTableError, match="'group'.*law 'hyperparams'"):
        TwoStageHyperparams().prepare(runs)
    law = TwoStageHyperparams()
    assert law.configure(tolerance=np.float32(0.0025)).tolerance == pytest.approx(0.0025)
    for bad in (False, "0.0025", 1.0, np.nan):
        with pytest.raises(ValueError, match="tolerance"):
            law.configure(tolerance=bad)


def test_two_stage_counts_optima_at_the_grid_edge(sweep):
    """A best run at its cell's smallest or largest lr or batch size is counted and warned
    about; which runs are selected does not change."""
    df = sweep.df
    lrs = np.sort(df["lr"].unique())
    cut = df[df["lr"] <= lrs[2]]  # truncated grid: the optimum lies above it in most cells
    runs = bl.load_runs(cut, allow_missing_loss=True)
    law = TwoStageHyperparams()
    with pytest.warns(PlausibilityWarning, match="edge of their cell's grid"):
        prepared = law.prepare(runs)
    chosen = _selected(cut)
    assert sorted(prepared.state["selected_rows"]) == sorted(str(i) for i in chosen.index)
    by_cell = cut.groupby(["N", "D"])
    expected = {}
    for column in ("lr", "batch_size"):
        low = by_cell[column].transform("min").loc[chosen.index]
        high = by_cell[column].transform("max").loc[chosen.index]
        expected[column] = (chosen[column] == low) | (chosen[column] == high)
    edge = prepared.state["grid_edge"]
    assert edge["lr"] == int(expected["lr"].sum()) > 0
    assert edge["batch_size"] == int(expected["batch_size"].sum())
    assert edge["n_at_edge"] == int((expected["lr"] | expected["batch_size"]).sum())
    assert f"{edge['n_at_edge']} selected runs at the edge" in prepared.notes[0]


def test_exclude_note_counts_far_above_apart_from_diverged(sweep):
    # runs merely more than far_above above their cell's best are not "diverged"
    df = sweep.df
    best = df.groupby(["N", "D"])["loss"].transform("min")
    far = int((df["loss"] > best * 1.01).sum())
    assert far > 0
    law = HyperparamsLaw(far_above=0.01, divergence="exclude")
    with pytest.warns(DivergenceWarning):
        prepared = law.prepare(sweep)
    assert prepared.notes[0].startswith(  # then each kind's rows
        f"1 diverged runs and {far} more than 1% above their cell's best excluded: "
    )
    assert prepared.state["divergence"]["n_excluded"] == far + 1
    with pytest.warns(DivergenceWarning):  # without far_above: only the diverged run
        note = HyperparamsLaw(divergence="exclude").prepare(sweep).notes[0]
    assert note.startswith("1 diverged runs excluded: 1 with ")


def test_step_law_note_separates_diverged_from_far_above():
    from bayeslaws.runs import bundled

    try:
        runs = bundled.steplaw_dense()
    except bundled.SharedDataMissing as err:
        pytest.skip(f"../shared/data is absent: {err}")
    n_diverged = int(runs.df["diverged"].sum())  # SOURCE.md: smooth loss > 4
    law = HyperparamsLaw(divergence_threshold=4.0, far_above=0.03, divergence="exclude")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        note = law.prepare(runs).notes[0]
    assert note.startswith(f"{n_diverged} diverged runs and ")
    assert " more than 3% above their cell's best excluded: " in note


def test_two_stage_terms_take_a_name_or_a_sequence_of_names():
    """A string is one term's name ("D"), not letters to read one by one ("ND" is refused), and
    terms that are not a dict get a TypeError naming the argument."""
    from bayeslaws.laws.hyperparams.two_stage import TwoStageHyperparams

    assert TwoStageHyperparams(terms={"batch_size": "D"}).terms["batch_size"] == ["D"]
    assert TwoStageHyperparams(terms={"batch_size": ["N", "D"]}).terms["batch_size"] == ["N", "D"]
    with pytest.raises(ValueError, match=r"terms for 'batch_size' must be among"):
        TwoStageHyperparams(terms={"batch_size": "ND"})
    with pytest.raises(TypeError, match=r"terms must be a dict"):
        TwoStageHyperparams(terms="D")


def test_with_far_above_a_diverged_run_is_censored_near_its_own_cells_best(sweep):
    """With far_above, a diverged run was censored at the table-wide bound (the largest kept
    loss): in a cell whose best lies far below it, the run claimed to be 20%+ above that best,
    and the bowl steepened to reach it (on Step Law, eta_opt 2-4x above every cell's best run;
    R9). It is now censored at the smaller of that bound and (1 + far_above) x its cell's best."""
    law = HyperparamsLaw(far_above=0.03)
    df = sweep.df
    diverged = df["loss"].isna().to_numpy()
    assert diverged.sum() == 1
    with pytest.warns(DivergenceWarning, match=r"the smaller of .* and 1.03x its cell's best"):
        prepared = law.prepare(sweep)
    cell_best = df.groupby(["N", "D"])["loss"].transform("min").to_numpy(float)
    kept = ~diverged & (df["loss"].to_numpy(float) <= cell_best * 1.03)
    expected = min(float(df["loss"][kept].max()), float(cell_best[diverged][0] * 1.03))
    z = np.asarray(prepared.data["obs"])[diverged][0] + prepared.scales["loss"]
    assert np.exp(z) == pytest.approx(expected, rel=1e-9)
    assert expected < float(df["loss"][kept].max())  # this cell's own bound is the smaller
