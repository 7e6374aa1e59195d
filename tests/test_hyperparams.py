"""Law "hyperparams" (optimal lr and batch size over every run) and the two-stage baseline.

One small NUTS fit (2 chains x 300 + 300) of a simulated video-DiT sweep is shared by the tests;
everything else (errors, divergence bookkeeping, two-stage) runs without sampling.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.laws.hyperparams import DivergenceWarning, HyperparamsLaw, log_survival
from bayeslaws.runs import RunTableError
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
    div = fit.spec["divergence"]
    assert div["mode"] == "censor" and div["n_censored"] == 1
    assert div["censored_at_loss"] == 0.6
    assert "1 diverged runs censored" in fit.spec["notes"][0]


def test_save_load_predicts_identically(fit, tmp_path):
    path = fit.save(tmp_path / "hp.nc")
    back = bl.load_fit(path)
    a = bl.predict(fit, N=7e9, D=2e11)
    b = bl.predict(back, N=7e9, D=2e11)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(fit.law_table(), back.law_table())
    assert back.spec["law_options"] == fit.spec["law_options"]


def test_exclude_records_and_counts(sweep):
    law = HyperparamsLaw(divergence="exclude", divergence_threshold=0.6)
    with pytest.warns(DivergenceWarning, match="1 diverged runs excluded"):
        runs = law.preprocess(sweep)
    assert len(runs) == len(sweep) - 1
    assert runs.record()["exclusions"][0]["count"] == 1
    _, info = law.prepare(runs)
    assert info["divergence"]["n_excluded"] == 1 and info["divergence"]["n_censored"] == 0


def test_censor_threshold_and_flag(sweep):
    df = sweep.df.copy()
    df["diverged"] = False
    df.loc[df.index[0], "diverged"] = True
    runs = bl.load_runs(df, allow_missing_loss=True)
    with pytest.warns(DivergenceWarning, match="2 diverged runs censored"):
        args, info = HyperparamsLaw().prepare(runs)
    assert int(np.asarray(args["censored"]).sum()) == 2
    # no threshold: censored at the largest converged loss
    converged = df["loss"].iloc[1:].dropna()
    assert info["divergence"]["censored_at_loss"] == pytest.approx(converged.max())


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
    with pytest.raises(ValueError, match="method"):
        bl.fit(sweep, law="hyperparams", method="grid")


def test_two_stage(sweep):
    ts = bl.fit(sweep, law="hyperparams", method="two_stage")
    assert ts.spec["n_cells"] == 9 and len(ts.optima) == 9
    table = ts.law_table(units="billions", ci=0.99)
    assert table.loc[("B_opt", "exp_T"), "lower"] < TRUTH.b_exp_T
    assert TRUTH.b_exp_T < table.loc[("B_opt", "exp_T"), "upper"]
    out = bl.predict(ts, N=1.07e9, D=1e10)
    assert out["B_opt_lower"][0] < out["B_opt_median"][0] < out["B_opt_upper"][0]
    tol = bl.fit(
        sweep, law="hyperparams", method="two_stage", tolerance=0.0025, terms={"batch_size": ("D",)}
    )
    assert len(tol.optima) > 9
    assert tol.law_table().loc[("B_opt", "exp_N"), "median"] == 0.0
    assert tol.spec["divergence"]["n_diverged"] == 1  # the NaN run
    with pytest.raises(ValueError, match="loss_penalty"):
        bl.loss_penalty(ts, N=1e9, D=1e10, lr=1e-4, batch_size=1e5)


def test_far_above_the_bowl(sweep):
    law = HyperparamsLaw(far_above=0.01)
    df = sweep.df
    best = df.groupby(["N", "D"])["loss"].transform("min")
    expected = int((df["loss"] > best * 1.01).sum())
    assert expected > 0
    with pytest.warns(DivergenceWarning):
        args, info = law.prepare(sweep)
    assert info["divergence"]["n_far_above"] == expected
    assert info["divergence"]["n_censored"] == expected + 1  # plus the NaN run
    with pytest.warns(DivergenceWarning, match="excluded"):
        kept = HyperparamsLaw(far_above=0.01, divergence="exclude").preprocess(sweep)
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
        args, _ = law.prepare(sweep)
    args = {**args, "priors": law.priors("gaussian"), "likelihood": "gaussian"}
    trace = numpyro.handlers.trace(numpyro.handlers.seed(law.model, 0)).get_trace(**args)
    params = {
        k: v["value"] for k, v in trace.items() if v["type"] == "sample" and not v["is_observed"]
    }
    lp, _ = log_density(law.model, (), args, params)
    assert np.isfinite(float(lp))
