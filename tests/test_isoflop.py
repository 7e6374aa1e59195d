"""The isoFLOP law on simulated Liang et al. data, and its checks (one small fit, ~20-30 s)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.laws.isoflop import budget_levels
from bayeslaws.posterior.allocation import allocation_laws, near_optimal, optimal_allocation
from bayeslaws.runs import RunTableError, bundled, simulate

FAST = {"chains": 2, "warmup": 300, "draws": 300, "dense_mass": False, "warn": False}
TRUTH = simulate.LiangTruth()


@pytest.fixture(scope="module")
def runs():
    return simulate.simulate_liang_isoflop(seed=1, n_per_budget=7)


@pytest.fixture(scope="module")
def fit(runs):
    return bl.fit(runs, law="isoflop", likelihood="gaussian", seed=0, **FAST)


def test_exponent_interval_covers_liang_truth(fit):
    s = fit.summary(ci=0.95)
    assert s.loc["a_opt", "2.5%"] < TRUTH.n_exp < s.loc["a_opt", "97.5%"]
    assert s.loc["a_L", "2.5%"] < TRUTH.l_exp < s.loc["a_L", "97.5%"]
    assert fit.diagnostics.divergences == 0
    assert s.loc["a_opt", "r_hat"] < 1.02


def test_per_budget_vertices_follow_truth(fit):
    N_opt = fit.draws(["N_opt"])["N_opt"]  # (S, 6)
    assert N_opt.shape[1] == 6
    ratio = np.median(N_opt, axis=0) / TRUTH.n_opt(fit.record.law_state["budgets"])
    np.testing.assert_allclose(ratio, 1.0, atol=0.05)


def test_per_budget_summary_rows_are_labelled_by_their_budget(fit, tmp_path):
    """``summary()`` labelled the per-budget sites by position (``N_opt[0]`` ... ``N_opt[5]``),
    which a reader had to match to ``record.law_state["budgets"]`` by hand; now by the budget
    in FLOPs, and the label survives a save and load."""
    budgets = fit.record.law_state["budgets"]
    labels = [f"N_opt[{C:.6g}]" for C in budgets]
    s = fit.summary()
    assert [p for p in s.index if p.startswith("N_opt[")] == labels
    N_opt = fit.draws(["N_opt"])["N_opt"]
    assert s.loc[labels[-1], "50%"] == pytest.approx(np.median(N_opt[:, -1]), rel=1e-9)
    fit.save(tmp_path / "iso.nc")
    assert list(bl.load_fit(tmp_path / "iso.nc").summary().index) == list(s.index)


def test_allocation_and_extrapolation_from_isoflop_law(fit):
    alloc = optimal_allocation(fit, C=1.5e21, ci=0.95)
    assert alloc["method"].item() == "isoflop_law"
    assert alloc["N_opt_lower"].item() < 958.3e6 < alloc["N_opt_upper"].item()
    assert alloc["L_opt_lower"].item() < TRUTH.l_opt(1.5e21) < alloc["L_opt_upper"].item()
    np.testing.assert_allclose(alloc["D_opt"] * alloc["N_opt"] * 6, 1.5e21, rtol=0.02)
    laws = allocation_laws(fit)
    assert laws.loc["N_opt", "exponent"] + laws.loc["D_opt", "exponent"] == pytest.approx(1.0)
    assert fit.law_table().loc["N_opt", "exponent"] == pytest.approx(laws.loc["N_opt", "exponent"])


def test_predict_fitted_and_new_budget(fit, runs):
    at_fitted = bl.predict(fit, N=runs["N"].iloc[:7], C=runs["C"].iloc[:7], ci=0.99)
    truth = TRUTH.loss(at_fitted["N"], at_fitted["C"])
    assert ((at_fitted["lower"] < truth) & (truth < at_fitted["upper"])).mean() >= 6 / 7
    new = bl.predict(fit, N=[1e8, 3e8], C=[3e19, 3e19], kind="new_run")
    assert (new["lower"] < new["median"]).all() and (new["median"] < new["upper"]).all()
    assert new["C_outside_decades"].iloc[0] == pytest.approx(np.log10(3e19 / 6e18))


def test_near_optimal_on_isoflop_law(fit):
    res = near_optimal(fit, C=1e18, tolerance=0.01)
    # truth: ln L = ln L_opt + k d^2, within 1% for |d| <= sqrt(ln 1.01 / k)
    half_width = np.sqrt(np.log(1.01) / TRUTH.k)
    true_low = TRUTH.n_opt(1e18) * np.exp(-half_width)
    assert res.band[0] == pytest.approx(true_low, rel=0.15)


def test_cubic_law_is_registered_and_needs_four_sizes(runs):
    two_few = runs.groupby("C").head(3)
    with pytest.raises(RunTableError, match="needs >= 4 model sizes"):
        bl.fit(two_few, law="isoflop_cubic", **FAST)


def test_saturating_cubic_has_one_minimum_at_the_vertex():
    from bayeslaws.laws.isoflop import curve

    d = np.linspace(-30, 30, 6001)
    for skew in (-50.0, -3.0, -1.0, -0.3, 0.0, 0.3, 1.0, 3.0, 50.0):
        rise = curve(d, 0.05, skew)
        assert rise.min() == 0.0 and d[np.argmin(rise)] == 0.0
        # monotone on each side of the vertex (a plain cubic turns over for s d < -1)
        assert np.all(np.diff(rise[d >= 0]) > 0) and np.all(np.diff(rise[d <= 0]) < 0)
    # K -> infinity is the plain cubic; the option is checked
    np.testing.assert_allclose(curve(d, 0.05, 0.3, 1e9), 0.05 * d**2 * (1 + 0.3 * d), rtol=1e-9)
    from bayeslaws.laws.isoflop import LAW_CUBIC

    assert LAW_CUBIC.configure(skew_saturation=2.0).skew_saturation == 2.0
    with pytest.raises(ValueError, match="skew_saturation must be a number > 0"):
        LAW_CUBIC.configure(skew_saturation=-1)
    # near the vertex it is the cubic h d^2 (1 + s d) to third order
    small = np.linspace(-0.05, 0.05, 11)
    np.testing.assert_allclose(curve(small, 1.0, 0.5), small**2 * (1 + 0.5 * small), atol=1e-6)


@pytest.mark.slow
def test_cubic_recovers_the_optimum_of_skewed_chinchilla_isoflop_curves():
    """isoFLOP profiles of a Chinchilla surface are skewed in ln N; the cubic's vertices should
    follow the surface's exact N_opt(C) = G (C/6)^a, a = beta / (alpha + beta) (simulated)."""
    from bayeslaws.posterior.calibration import SIM_TRUTH, simulated_split

    train, _ = simulated_split("correct", seed=3, noise_sd=0.003, n_per_budget=9)
    fit = bl.fit(
        train,
        law="isoflop_cubic",
        likelihood="gaussian",
        seed=0,
        law_options={"loss_floor": True},
        **FAST,
    )
    assert fit.law.loss_floor  # the fit carries its options
    t = SIM_TRUTH
    a_true = t["beta"] / (t["alpha"] + t["beta"])
    s = fit.summary(ci=0.95)
    assert s.loc["a_opt", "2.5%"] < a_true < s.loc["a_opt", "97.5%"]
    assert s.loc["a_opt", "r_hat"] < 1.05 and fit.diagnostics.divergences <= 2
    G = (t["alpha"] * t["A"] / (t["beta"] * t["B"])) ** (1 / (t["alpha"] + t["beta"]))
    budgets = np.asarray(fit.record.law_state["budgets"])
    n_true = G * (budgets / 6) ** a_true
    n_fit = np.median(fit.draws(["N_opt"])["N_opt"], axis=0)
    np.testing.assert_allclose(n_fit / n_true, 1.0, atol=0.15)
    # and L_opt(C) = E + k C^a_L exactly, with a_L = -alpha beta / (alpha + beta)
    a_L = -t["alpha"] * t["beta"] / (t["alpha"] + t["beta"])
    assert s.loc["a_L", "2.5%"] < a_L < s.loc["a_L", "97.5%"]
    assert s.loc["E_floor", "2.5%"] < t["E"] < s.loc["E_floor", "97.5%"]


def test_bad_runs_name_the_problem(runs):
    with pytest.raises(RunTableError, match=">= 3 compute budgets"):
        bl.fit(runs[runs["C"] < 4e17], law="isoflop", **FAST)
    grouped = runs.assign(group=np.where(runs["C"] > 5e17, "a", "b"))
    with pytest.raises(RunTableError, match="one family at a time"):
        bl.fit(grouped, law="isoflop", **FAST)
    with pytest.raises(ValueError, match="prior given for 'alpha'"):
        bl.fit(runs, law="isoflop", priors={"alpha": None}, **FAST)


def test_budget_levels_merge_rounding():
    levels, index = budget_levels([1e18, 1.00001e18, 3e18, 1e17])
    np.testing.assert_allclose(levels, [1e17, 1e18, 3e18])
    assert index.tolist() == [1, 1, 2, 0]


@pytest.mark.shared
def test_porian_loader_has_budget_compute():
    try:
        runs = bundled.porian_isoflop(dataset="rw", hparams="tuned", param_count="standard")
    except bundled.SharedDataMissing as err:
        pytest.skip(f"../shared/data is absent: {err}")
    assert isinstance(runs.df, pd.DataFrame)
    levels, _ = budget_levels(runs.df["C"])
    assert len(levels) >= 8


def test_run_offsets_are_detrended_by_default(runs):
    """Offsets shared by a run cannot carry a smooth trend in ln N (it would tilt every curve
    and move the vertices): the default projection annihilates 1, x and x^2 over the runs."""
    from bayeslaws.laws.isoflop import LAW
    from bayeslaws.runs import as_run_table

    table = as_run_table(runs.assign(run=[f"r{i % 9}" for i in range(len(runs))]))
    prepared = LAW.prepare(table)
    proj = np.asarray(prepared.data["run_proj"])
    assert prepared.state["run_offsets"] == "detrended" and proj.shape == (9, 9)
    x = np.asarray(prepared.data["x"])
    idx = np.asarray(prepared.data["run_index"])
    x_run = np.array([x[idx == i].mean() for i in range(9)])
    for basis in (np.ones(9), x_run, x_run**2):
        np.testing.assert_allclose(proj @ basis, 0.0, atol=1e-6)  # float32
    np.testing.assert_allclose(proj @ proj, proj, atol=1e-6)  # a projection
    free = LAW.configure(run_offsets="free").prepare(table)
    np.testing.assert_allclose(np.asarray(free.data["run_proj"]), np.eye(9))
    with pytest.raises(ValueError, match="unknown option"):
        LAW.configure(offsets="free")


@pytest.mark.shared
def test_porian_attention_rows_get_real_sizes_and_attention_flops():
    try:
        runs = bundled.porian_isoflop(param_count="attention", decay="const")
    except bundled.SharedDataMissing as err:
        pytest.skip(f"../shared/data is absent: {err}")
    df = runs.df
    assert (df["N"] < df["N_eff"]).all()  # the file's size counts attention as parameters
    np.testing.assert_allclose(runs.compute_model.flops(df["N"], df["D"]), df["C"], rtol=1e-9)
    np.testing.assert_allclose(df["D"], df["C"] / (6 * df["N_eff"]), rtol=1e-9)
    # N_eff - N = n_layer * n_ctx * d_model: a multiple of n_ctx = 2048
    extra = (df["N_eff"] - df["N"]).unique()
    np.testing.assert_allclose(np.round(extra / 2048), extra / 2048, atol=1e-6)


def test_budgets_from_rounded_sizes_name_the_cause():
    """C = 6ND from N and D rounded to 3 significant figures splits each budget in several: the
    error counts the budgets, shows neighbours within a few percent and names the remedy."""
    from bayeslaws.laws.isoflop import LAW

    df = simulate.simulate_liang_isoflop(seed=0)
    rounded = df[["N", "D", "loss"]].assign(
        N=df["N"].map(lambda v: float(f"{v:.3g}")), D=df["D"].map(lambda v: float(f"{v:.3g}"))
    )
    runs = bl.load_runs(rounded)
    n_levels = len(budget_levels(runs.df["C"])[0])
    message = f"The {len(df)} runs give {n_levels} distinct budgets"
    with pytest.raises(RunTableError, match=message) as error:
        LAW.prepare(runs)
    assert "within 5% of a neighbour" in str(error.value)
    assert "C='budget'" in str(error.value) and "round C" in str(error.value)


def test_nominal_budgets_under_another_flop_convention_name_the_cause():
    """Runs whose nominal budget is not 6ND (Marin's: 0.74-1.07 x 6ND), loaded from N and D, give
    one budget per run: the error names that cause beside rounding, and the remedy."""
    from bayeslaws.laws.isoflop import LAW

    df = simulate.simulate_liang_isoflop(seed=0)
    ratio = np.random.default_rng(0).uniform(0.74, 1.07, len(df))  # 6ND / nominal C
    runs = bl.load_runs(df[["N", "D", "loss"]].assign(D=df["D"] * ratio))
    with pytest.raises(RunTableError, match="another FLOP convention") as error:
        LAW.prepare(runs)
    assert "nominal budget C != 6ND" in str(error.value) and "C='budget'" in str(error.value)


def _law_posterior():
    from bayeslaws.laws.contract import Posterior, Scales

    rng = np.random.default_rng(0)
    draws = {
        "k_opt": rng.lognormal(0, 0.1, 50),
        "a_opt": rng.normal(0.5, 0.02, 50),
        "k_L": rng.lognormal(0, 0.1, 50),
        "a_L": rng.normal(-0.05, 0.01, 50),
        "n0": rng.normal(0, 0.1, 50),
        "l0": rng.normal(0, 0.1, 50),
        "vertex_sd": np.full(50, 0.1),
        "loss_sd": np.full(50, 0.01),
        "log_h0": np.full(50, -3.0),
        "log_h1": np.zeros(50),
        "h_sd": np.full(50, 0.1),
    }
    scales = Scales({"N": 18.0, "C": 40.0, "loss": 1.0})
    return Posterior(draws, scales, (None,), {"budgets": [1e18]}, "gaussian")


@pytest.mark.parametrize("ci", [1.5, 0, "0.9"])
def test_law_table_checks_ci(ci):
    from bayeslaws.laws.isoflop import LAW

    assert LAW.law_table(_law_posterior(), ci=0.8)["ci"].eq(0.8).all()
    with pytest.raises(ValueError, match="ci must be a number in \\(0, 1\\)"):
        LAW.law_table(_law_posterior(), ci=ci)


def test_skew_saturation_is_a_number_not_a_bool():
    from bayeslaws.laws.isoflop import IsoFLOP

    with pytest.raises(ValueError, match="skew_saturation must be a number > 0"):
        IsoFLOP(skew_saturation=True)


def test_allocation_methods_are_checked():
    from bayeslaws.laws.contract import LawCapabilityError
    from bayeslaws.laws.isoflop import LAW
    from bayeslaws.runs.compute import linear

    post, model = _law_posterior(), linear()
    kw = {"group": None}
    auto = LAW.allocation(post, [1e20], model, method="auto", rng=np.random.default_rng(0), **kw)
    closed = LAW.allocation(
        post, [1e20], model, method="closed_form", rng=np.random.default_rng(0), **kw
    )
    np.testing.assert_array_equal(auto["N_opt"], closed["N_opt"])
    with pytest.raises(LawCapabilityError, match="use method='auto' or 'closed_form'"):
        LAW.allocation(post, [1e20], model, method="numerical", rng=None, **kw)
    with pytest.raises(ValueError, match="method must be one of"):
        LAW.allocation(post, [1e20], model, method="closed form", rng=None, **kw)
