"""Fitting, summaries, prediction, saving and model comparison on small simulated data."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import FAST, TRUTH, chinchilla_design

import bayeslaws as bl
from bayeslaws.inference import SamplerWarning
from bayeslaws.posterior import draws as posterior_draws
from bayeslaws.runs import simulate
from bayeslaws.runs.checks import ArgumentTypeError


def test_summary_has_the_documented_columns(simulated_fit):
    summary = simulated_fit.summary()
    assert list(summary.columns) == [
        "mean",
        "sd",
        "5%",
        "50%",
        "95%",
        "r_hat",
        "ess_bulk",
        "ess_tail",
    ]
    for name in ["alpha", "beta", "E", "A", "B", "a_opt", "sigma"]:
        assert name in summary.index
    assert simulated_fit.diagnostics.ok, simulated_fit.diagnostics.problems


def test_predict_and_report_show_how_far_beyond_the_fitted_compute_a_point_is(simulated_fit):
    """A point inside the fitted N and D ranges can lie beyond the largest fitted budget: the
    distance in C is a column of predict and is said in the report (it was invisible)."""
    from bayeslaws.app.report import fit_report

    (n_lo, n_hi), (d_lo, d_hi) = (simulated_fit.record.ranges[k] for k in ("N", "D"))
    c_hi = simulated_fit.record.ranges["C"][1]
    N, D = n_hi, d_hi  # the corner: inside both ranges, at 6 N D
    out = bl.predict(simulated_fit, N=N, D=D).iloc[0]
    assert out["N_outside_decades"] == 0 and out["D_outside_decades"] == 0
    assert out["C_outside_decades"] == pytest.approx(max(0.0, np.log10(6 * N * D / c_hi)))
    N2, D2 = n_hi * 10, d_hi * 10  # two decades of C beyond the largest fitted budget
    far = bl.predict(simulated_fit, N=N2, D=D2).iloc[0]["C_outside_decades"]
    assert far == pytest.approx(np.log10(6 * N2 * D2 / c_hi))
    text = fit_report(simulated_fit, targets=[(N2, D2)], budgets=[]).to_text()
    assert f"C {far:.2f} decades above" in " ".join(text.split()), text


def test_posterior_covers_the_truth(simulated_fit):
    summary = simulated_fit.summary(ci=0.99)
    for name in ["alpha", "beta", "E"]:
        assert summary.loc[name, "0.5%"] < TRUTH[name] < summary.loc[name, "99.5%"], name


def test_summary_takes_a_numpy_ci_as_predict_does(simulated_fit):
    """ci=np.float32(0.9) was refused with "ci must be in (0, 1), got np.float32(0.9)"."""
    summary = simulated_fit.summary(ci=np.float32(0.9))
    assert summary["5%"].to_numpy() == pytest.approx(simulated_fit.summary(ci=0.9)["5%"])


def test_predict_returns_one_row_per_point_with_ordered_interval(simulated_fit):
    out = bl.predict(simulated_fit, N=[7e9, 70e9], D=[1.4e12, 1.4e12], ci=0.9)
    assert len(out) == 2
    assert (out["lower"] < out["median"]).all() and (out["median"] < out["upper"]).all()
    assert out["N_outside_decades"].iloc[0] == pytest.approx(np.log10(7e9 / 6e9))
    assert out["D_outside_decades"].iloc[0] == pytest.approx(np.log10(1.4e12 / 1e11))
    truth = simulate.chinchilla_loss(**TRUTH, N=out["N"], D=out["D"])
    assert (out["lower"] < truth).all() and (truth < out["upper"]).all()


def test_new_run_interval_is_wider_than_mean_interval(simulated_fit):
    mean = bl.predict(simulated_fit, N=1e9, D=2e10, kind="mean")
    new = bl.predict(simulated_fit, N=1e9, D=2e10, kind="new_run")
    assert (new["upper"] - new["lower"]).item() > 1.5 * (mean["upper"] - mean["lower"]).item()


def test_predict_from_compute_uses_the_compute_model(simulated_fit):
    by_c = bl.predict(simulated_fit, N=1e9, C=6 * 1e9 * 2e10)
    by_d = bl.predict(simulated_fit, N=1e9, D=2e10)
    assert by_c["D"].item() == pytest.approx(2e10)
    assert by_c["median"].item() == pytest.approx(by_d["median"].item())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"N": [1e9]}, "exactly two of N, D, C"),
        ({"N": [1e9, -1], "D": 1e10}, "N must be finite and positive"),
        ({"N": [1e9, 2e9], "D": [1e10, 1e10, 1e10]}, "incompatible lengths"),
        ({"N": 1e9, "D": 1e10, "ci": 1.5}, r"ci must be a number in \(0, 1\)"),
        ({"N": 1e9, "D": 1e10, "kind": "best"}, "kind must be one of"),
    ],
)
def test_bad_queries_are_named(simulated_fit, kwargs, message):
    with pytest.raises(ValueError, match=message):
        bl.predict(simulated_fit, **kwargs)


# NumPy arrays of strings are refused as lists of strings are (review 10, F4)
@pytest.mark.parametrize(
    "values",
    [np.array(["1e9", "2e9"]), np.array(["1,000,000,000"]), np.array([b"1e9"])],
    ids=["unicode", "commas", "bytes"],
)
def test_a_numpy_string_array_is_refused_as_a_list_of_strings_is(values):
    with pytest.raises(ArgumentTypeError, match="N must hold numbers"):
        posterior_draws.positive_array("N", values)
    with pytest.raises(ArgumentTypeError, match="N must hold numbers"):
        posterior_draws.positive_array("N", list(values))


def test_predict_refuses_a_numpy_string_array(simulated_fit):
    with pytest.raises(ArgumentTypeError, match="N must hold numbers"):
        bl.predict(simulated_fit, N=np.array(["1e9", "2e9"]), D=1e10)


def test_save_and_load_give_identical_predictions(simulated_fit, tmp_path):
    query = {"N": [7e9, 70e9], "D": [1.4e12, 1.4e12], "kind": "new_run", "seed": 3}
    before = bl.predict(simulated_fit, **query)  # beyond the fitted range: calibrates once
    path = simulated_fit.save(tmp_path / "fit.nc")
    same = bl.load_fit(path)
    pd.testing.assert_frame_equal(before, bl.predict(same, **query))
    assert same.record.law == "chinchilla" and same.compute_model.name == "6ND"
    assert same.priors["alpha"].concentration1 == pytest.approx(2.0)


def test_incompatible_file_is_refused(simulated_fit, tmp_path):
    import dataclasses
    import json

    from bayeslaws.inference import IncompatibleFitFile
    from bayeslaws.inference.fit import RECORD_ATTR

    old_record = dataclasses.replace(simulated_fit.record, format_version=999)
    fit_copy = bl.Fit(
        simulated_fit.idata.copy(), old_record, compute_model=simulated_fit.compute_model
    )
    path = fit_copy.save(tmp_path / "old.nc")
    with pytest.raises(IncompatibleFitFile, match="format 999"):
        bl.load_fit(path)
    simulated_fit.idata.to_netcdf(str(tmp_path / "plain.nc"), engine="h5netcdf")
    with pytest.raises(IncompatibleFitFile, match="not a bayeslaws fit"):
        bl.load_fit(tmp_path / "plain.nc")
    assert RECORD_ATTR not in simulated_fit.idata.posterior.attrs
    json.loads(simulated_fit.record.to_json())  # the record stays JSON-ready


def test_fit_is_reproducible_with_a_seed(simulated_runs):
    a = bl.fit(simulated_runs, seed=5, chains=1, warmup=100, draws=100, warn=False)
    b = bl.fit(simulated_runs, seed=5, chains=1, warmup=100, draws=100, warn=False)
    np.testing.assert_array_equal(a.draws()["alpha"], b.draws()["alpha"])


def test_custom_priors_are_used_and_checked(simulated_runs, simulated_fit):
    import numpyro.distributions as dist

    tight = bl.fit(
        simulated_runs,
        priors={"alpha": dist.Beta(200.0, 200.0)},
        seed=0,
        chains=1,
        warmup=200,
        draws=200,
        warn=False,
    )
    default_alpha = simulated_fit.summary().loc["alpha", "mean"]  # ~0.35, the truth
    assert tight.summary().loc["alpha", "mean"] > default_alpha + 0.05  # pulled towards 0.5
    assert tight.record.priors["alpha"] == {
        "dist": "Beta",
        "concentration1": 200.0,
        "concentration0": 200.0,
    }
    with pytest.raises(ValueError, match="prior given for 'gamma'"):
        bl.fit(simulated_runs, priors={"gamma": dist.Normal(0, 1)})


def test_kaplan_and_likelihoods_compare_by_loo(simulated_runs, simulated_fit):
    kaplan = bl.fit(simulated_runs, law="kaplan", likelihood="gaussian", seed=0, warn=False, **FAST)
    student = bl.fit(simulated_runs, likelihood="student_t", seed=0, warn=False, **FAST)
    table = bl.compare([simulated_fit, kaplan, student])
    assert set(table.index) == {"chinchilla/gaussian", "kaplan/gaussian", "chinchilla/student_t"}
    assert table.index[-1] == "kaplan/gaussian"  # the wrong form ranks last
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        named = bl.compare({"truth's form": simulated_fit, "kaplan": kaplan})
    assert not [w for w in caught if "inplace keyword" in str(w.message)]  # ArviZ's, not ours
    assert set(named.index) == {"truth's form", "kaplan"}
    # other data (the same runs, every loss shifted) is refused: its LOO is not comparable
    shifted = simulated_runs.df.assign(loss=simulated_runs.df["loss"] * 1.02)
    other = bl.fit(bl.load_runs(shifted), seed=0, warn=False, **FAST)
    with pytest.raises(ValueError, match="same runs: .* other loss values"):
        bl.compare([simulated_fit, other])


def test_compare_refuses_fits_of_other_observations_or_columns(simulated_fit):
    """Same N, D and loss, but one law scores other observations (a two-stage law's cell
    optima: another site and shape), or the runs differ in a column the law reads (D): refused
    by name. (A column no law reads, such as lr for Chinchilla, may differ:
    tests/test_compare_checks.py.)"""
    from dataclasses import replace

    import xarray as xr

    from bayeslaws.inference import Fit

    idata = simulated_fit.idata.copy()
    (site,) = idata.log_likelihood.data_vars
    draws = idata.log_likelihood[site].values[:, :, :12].reshape(
        idata.log_likelihood[site].shape[:2] + (2, 6)
    )
    idata.log_likelihood = xr.Dataset(
        {"log_optimum": (("chain", "draw", "axis", "cell"), draws)},
        coords={"chain": idata.log_likelihood["chain"], "draw": idata.log_likelihood["draw"]},
    )
    optima = Fit(idata, simulated_fit.record)
    with pytest.raises(ValueError, match="same observations: .*log_optimum.*\\(2, 6\\)"):
        bl.compare([simulated_fit, optima])
    runs = dict(simulated_fit.record.training_runs)
    D = list(runs["D"])
    swept = {
        k: replace(simulated_fit.record, training_runs={**runs, "D": v})
        for k, v in (("a", D), ("b", D[:-1] + [2 * D[-1]]))
    }
    with pytest.raises(ValueError, match="same runs: .* other D values"):
        bl.compare([Fit(simulated_fit.idata, swept["a"]), Fit(simulated_fit.idata, swept["b"])])


def test_groups_are_partially_pooled():
    N, D = chinchilla_design(5, 4)
    frames = []
    for i, (g, alpha) in enumerate([("a", 0.33), ("b", 0.37), ("c", 0.35)]):
        df = simulate.simulate_chinchilla_runs(
            {**TRUTH, "alpha": alpha, "N": N, "D": D}, noise_sd=0.01, seed=10 + i
        )
        frames.append(df.assign(group=g))
    runs = bl.load_runs(pd.concat(frames, ignore_index=True))
    fit = bl.fit(runs, likelihood="gaussian", seed=0, warn=False, **FAST)
    summary = fit.summary(ci=0.99)
    for g, alpha in [("a", 0.33), ("b", 0.37)]:
        row = summary.loc[f"alpha_group[{g}]"]
        assert row["0.5%"] < alpha < row["99.5%"]
    own = bl.predict(fit, N=1e9, D=1e10, group="a")
    with pytest.warns(UserWarning, match="answers for a NEW, unseen group"):
        new = bl.predict(fit, N=1e9, D=1e10)
    assert (new["upper"] - new["lower"]).item() > (own["upper"] - own["lower"]).item()
    with pytest.raises(ValueError, match="group='z' is not one of"):
        bl.predict(fit, N=1e9, D=1e10, group="z")
    # the default new-run discrepancy (one GP per group, on its own residuals) works on
    # grouped fits
    far = bl.predict(fit, N=[1e10, 3e10], D=[1e12, 3e12], kind="new_run", group="a")
    states = fit.cache["gp"]["groups"].values()
    assert sum(len(s["residuals"]) for s in states) == len(runs.df)
    assert np.all(far["lower"] < far["median"]) and np.all(far["median"] < far["upper"])


def test_one_group_reduces_to_the_plain_model(simulated_runs):
    one = bl.load_runs(simulated_runs.df.assign(group="only"))
    fit = bl.fit(one, seed=0, chains=1, warmup=50, draws=50, warn=False)
    assert "alpha_tau" not in fit.idata.posterior
    assert fit.groups == ["only"]


def test_sampler_trouble_is_reported(simulated_runs):
    with pytest.warns(SamplerWarning, match="R-hat|ess_bulk|ess_tail"):
        fit = bl.fit(simulated_runs, seed=0, chains=2, warmup=20, draws=20)
    assert not fit.diagnostics.ok


def test_one_chain_reports_ess_and_says_r_hat_is_unavailable(simulated_runs, capfd):
    """R-hat needs two chains: a one-chain fit says so, with no ArviZ shape warning on stderr,
    and still checks ESS (a random walk's ESS is caught)."""
    import arviz as az

    from bayeslaws.inference.diagnostics import check

    fit = bl.fit(simulated_runs, seed=0, chains=1, warmup=50, draws=50, warn=False)
    assert "Shape validation" not in capfd.readouterr().err
    assert np.isnan(fit.diagnostics.max_r_hat)
    assert "R-hat n/a (one chain" in repr(fit)
    assert 1 < fit.diagnostics.min_ess_bulk < 200
    walk = np.cumsum(np.random.default_rng(0).normal(size=(1, 400)), axis=1)
    idata = az.from_dict(
        posterior={"a": walk, "b": walk[..., None] * [1.0, 2.0]},
        sample_stats={"diverging": np.zeros((1, 400), bool)},
    )
    with pytest.warns(SamplerWarning, match=r"ess_bulk < 40 for \['a', 'b\[0\]', 'b\[1\]'\]"):
        diag = check(idata, ["a", "b"])
    assert "Shape validation" not in capfd.readouterr().err
    assert diag.min_ess_bulk < 40 and np.isnan(diag.max_r_hat)


def test_ten_thousand_query_points_vectorise(simulated_fit):
    N = np.geomspace(1e8, 1e11, 10_000)
    bl.predict(simulated_fit, N=N, D=2e10)  # compile
    start = time.perf_counter()
    out = bl.predict(simulated_fit, N=N, D=2e10)
    elapsed = time.perf_counter() - start
    assert len(out) == 10_000 and out["median"].is_monotonic_decreasing
    print(f"10,000 points x {simulated_fit.diagnostics.n_draws} draws: {elapsed:.3f} s")


def test_kernel_cache_separates_law_options(kernels_kept):
    from bayeslaws.inference.nuts import _cached_mcmc
    from bayeslaws.laws import get_law

    law = get_law("hyperparams")
    static = {"priors": law.priors("gaussian"), "likelihood": "gaussian", "n_groups": 1}
    settings = {
        "chains": 1,
        "warmup": 5,
        "draws": 5,
        "target_accept": 0.8,
        "dense_mass": False,
        "chain_method": "sequential",
        "progress_bar": False,
    }
    log_bowl = _cached_mcmc(law.configure(bowl_scale="log"), static, (), settings)
    loss_bowl = _cached_mcmc(law.configure(bowl_scale="loss"), static, (), settings)
    assert log_bowl is not loss_bowl
    assert _cached_mcmc(law.configure(bowl_scale="log"), static, (), settings) is log_bowl


def test_summary_labels_every_index_of_a_site_with_two_extra_dimensions(simulated_fit):
    """A (chain, draw, row, col) site gets one row per (row, col) pair, labelled with both
    coordinates (only the first dimension was labelled, so 2 of its 6 values were reported)."""
    import copy

    import xarray as xr

    fit = copy.copy(simulated_fit)
    fit.idata = copy.deepcopy(simulated_fit.idata)
    post = fit.idata.posterior
    n_chain, n_draw = post.sizes["chain"], post.sizes["draw"]
    offsets = np.arange(6.0).reshape(2, 3)
    noise = np.random.default_rng(0).normal(size=(n_chain, n_draw, 2, 3))
    values = offsets + 0.01 * noise
    fit.idata.posterior["m"] = xr.DataArray(
        values,
        dims=("chain", "draw", "m_row", "m_col"),
        coords={"m_row": ["x", "y"], "m_col": [0, 1, 2]},
    )
    table = fit.summary(var_names=["m"])
    assert table.index.tolist() == [f"m[{a},{b}]" for a in "xy" for b in (0, 1, 2)]
    np.testing.assert_allclose(table["mean"].to_numpy(), offsets.ravel(), atol=0.01)


def test_parallel_chains_beyond_the_devices_run_and_are_recorded_sequential(kernels_kept):
    """NumPyro draws more chains than devices sequentially (warning on its own), but the fit's
    record said chain_method 'parallel'."""
    import jax

    from bayeslaws.inference import nuts
    from bayeslaws.laws import get_law

    chains = jax.local_device_count() + 1
    with pytest.warns(UserWarning, match=f"{chains} chains, .* the chains run sequentially"):
        settings = nuts._settings(
            chains=chains,
            warmup=5,
            draws=5,
            seed=0,
            target_accept=0.8,
            dense_mass=False,
            progress_bar=False,
            chain_method="parallel",
            prior_draws=0,
        )
    assert settings["chain_method"] == "sequential"  # what the record stores
    law = get_law("hyperparams")
    static = {"priors": law.priors("gaussian"), "likelihood": "gaussian", "n_groups": 1}
    sampler = {k: v for k, v in settings.items() if k not in ("seed", "prior_draws")}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing left for NumPyro to switch
        assert nuts._cached_mcmc(law, static, (), sampler).chain_method == "sequential"


def test_a_fit_screen_exclude_replaces_shows_none_of_its_warnings(simulated_runs, monkeypatch):
    """screen='exclude' refits without the flagged runs; the first fit's SamplerWarning was
    shown, as if about the fit returned. Held now, and shown when that fit is returned."""
    from bayeslaws.inference import nuts

    real, fits = nuts.check, []

    def check(idata, names, warn=True, cause=None, **options):  # the first fit: trouble, say
        if warn and not fits:
            warnings.warn("sampler trouble: of the first fit", SamplerWarning, stacklevel=2)
        fits.append(idata)
        return real(idata, names, warn=warn, cause=cause, **options)

    monkeypatch.setattr(nuts, "check", check)
    df = simulated_runs.df.copy()
    df.loc[7, "loss"] *= 3
    kw = dict(seed=0, chains=2, warmup=50, draws=50, screen="exclude", progress_bar=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = bl.fit(bl.load_runs(df), **kw)
    assert len(fits) == 2 and 7 not in fit.record.training_runs["row"]  # refitted
    assert not [w for w in caught if "of the first fit" in str(w.message)]
    fits.clear()
    with pytest.warns(SamplerWarning, match="of the first fit"):  # nothing flagged: returned
        bl.fit(simulated_runs, **kw)
    assert len(fits) == 1
