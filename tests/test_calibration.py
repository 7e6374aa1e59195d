"""Calibration harness and the default extrapolation widening (small and fast; full backtests
live in benchmarks/calibration.py)."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

import bayeslaws as bl
from bayeslaws.posterior import calibration as cal
from bayeslaws.posterior import extrapolation as ex
from bayeslaws.posterior.calibration import backtesting
from bayeslaws.posterior.draws import log_loss_draws, query_frame
from bayeslaws.runs.bundled import SharedDataMissing

SMALL = dict(chains=2, warmup=200, draws=200, warn=False)
FOLDS = (("C", 0.2), ("N", 0.25))
CAL = dict(folds=FOLDS, chains=2, warmup=80, draws=80)


def _respec(fit, drop=(), **changes):
    """A copy of ``fit`` sharing its draws, with the cache entries ``drop`` left out and record
    fields changed (e.g. ``training_runs=None``: a fit that holds no training runs)."""
    record = dataclasses.replace(fit.record, **changes)
    cache = {k: fit.cache[k] for k in fit.cache.keys() if k not in drop}
    return bl.Fit(fit.idata, record, compute_model=fit.compute_model, cache=cache)


# ---- scoring (exact, no sampling) ----
def test_score_coverage_matches_nominal_for_a_calibrated_predictive():
    rng = np.random.default_rng(0)
    q, s = 4000, 400
    centre = rng.normal(0.7, 0.05, q)
    draws = centre + 0.02 * rng.standard_normal((s, q))
    actual = np.exp(centre + 0.02 * rng.standard_normal(q))
    out = cal.score(actual, draws)
    # binomial sd of a coverage over 4000 points is <= 0.008; quantiles of 400 draws add ~0.01
    assert abs(out["cov50"] - 0.5) < 0.04
    assert abs(out["cov80"] - 0.8) < 0.04
    assert abs(out["cov90"] - 0.9) < 0.03
    # 90% width of a lognormal with sd 0.02 is about 2 * 1.645 * 0.02
    assert out["width90"] == pytest.approx(2 * 1.645 * 0.02, rel=0.1)
    # the KDE log density is close to the exact normal one, E ln N(0, 0.02) = -ln(0.02 sqrt(2pi e))
    exact = -np.log(0.02 * np.sqrt(2 * np.pi * np.e))
    assert out["lpd"] == pytest.approx(exact, abs=0.1)


def test_score_flags_overconfident_intervals_and_bias():
    rng = np.random.default_rng(1)
    q = 2000
    draws = 0.005 * rng.standard_normal((300, q))
    actual = np.exp(0.02 * rng.standard_normal(q) + 0.01)
    out = cal.score(actual, draws)
    assert out["cov90"] < 0.4
    assert out["error"] == pytest.approx(np.median(np.abs(np.exp(-np.log(actual)) - 1)), rel=0.2)


def test_rank_uniformity_separates_uniform_from_skewed_ranks():
    rng = np.random.default_rng(2)
    assert cal.rank_uniformity(rng.integers(0, 51, 500), 50) > 0.001
    assert cal.rank_uniformity(rng.binomial(50, 0.8, 500), 50) < 1e-6


# ---- the discrepancy model (exact) ----
def test_distance_is_zero_inside_and_counts_decades_outside():
    ranges = {"N": [1e8, 1e9], "D": [1e9, 1e10], "C": [1e18, 1e20]}
    d = ex.distance.distance_decades([5e8, 1e10, 1e8], [5e9, 5e9, 1e8], [1e19, 1e21, 1e17], ranges)
    np.testing.assert_allclose(d, [0.0, 1.0, 1.0])


def test_discrepancy_sd_is_zero_inside_and_grows_with_distance():
    sd = ex.distance.discrepancy_sd([0.0, 0.05, 0.1, 1.0, 2.0], 0.01, 0.02)
    assert sd[0] == 0
    assert np.all(np.diff(sd) > 0)
    assert sd[3] == pytest.approx(np.hypot(0.01, 0.02))


def test_grid_posterior_recovers_the_discrepancy_scale():
    rng = np.random.default_rng(3)
    d = rng.uniform(0.2, 1.5, 600)
    var = np.full(d.size, 0.005**2)
    r = np.sqrt(var + ex.distance.discrepancy_sd(d, 0.0, 0.03) ** 2) * rng.standard_normal(d.size)
    state = ex.distance.posterior_state(r, var, d)
    assert state["tau1_mean"] == pytest.approx(0.03, abs=0.006)
    assert state["tau0_mean"] < 0.012
    # no discrepancy in the residuals -> scales shrink towards zero
    calm = ex.distance.posterior_state(np.sqrt(var) * rng.standard_normal(d.size), var, d)
    assert calm["tau1_mean"] < 0.005


def test_discrepancy_draws_follow_the_scales():
    state = ex.distance.posterior_state(np.zeros(0), np.zeros(0), np.zeros(0), prior_scale=0.02)
    draws = ex.distance.discrepancy_draws(state, [0.0, 1.0], 20000, seed=0)
    assert np.all(draws[:, 0] == 0)
    # prior only: tau0, tau1 ~ HalfNormal(0.02) -> E s(1)^2 = 2 * 0.02^2
    assert draws[:, 1].std() == pytest.approx(0.02 * np.sqrt(2), rel=0.08)


def test_student_t_variant_reuses_the_cv_data_and_has_heavier_tails():
    rng = np.random.default_rng(5)
    d = rng.uniform(0.2, 1.5, 400)
    var = np.full(d.size, 0.005**2)
    r = np.sqrt(var + ex.distance.discrepancy_sd(d, 0.0, 0.03) ** 2) * rng.standard_normal(d.size)
    state = ex.distance.posterior_state(r, var, d)
    t_state = ex.distance.variant_state(state, "student_t")
    assert t_state["shape"] == "student_t" and t_state["cv"] == state["cv"]
    # (same variance, narrower core: Gaussian residuals read as a somewhat larger t scale)
    assert 0.7 * state["tau1_mean"] < t_state["tau1_mean"] < 2 * state["tau1_mean"]
    normal = ex.distance.discrepancy_draws(state, [1.0], 40000, seed=1)[:, 0]
    heavy = ex.distance.discrepancy_draws(t_state, [1.0], 40000, seed=1)[:, 0]
    # same scale, heavier tails: a larger 99% / 75% quantile ratio (normal 3.8, t3 ~6)
    ratio = [np.quantile(np.abs(x), 0.99) / np.quantile(np.abs(x), 0.5) for x in (normal, heavy)]
    assert ratio[0] == pytest.approx(2.576 / 0.674, rel=0.1)
    assert ratio[1] > 1.3 * ratio[0]
    with pytest.raises(ValueError, match="shape"):
        ex.distance.posterior_state(r, var, d, shape="cauchy")


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="extrapolation"):
        ex.check_method("magic")


# ---- end to end on a small simulated design ----
@pytest.fixture(scope="module")
def small_backtest():
    train, test = cal.simulated_split(
        "correct",
        seed=4,
        n_per_budget=5,
        fit_budgets=(1e18, 3e18, 1e19, 3e19, 1e20),
        test_budgets=(1e21,),
    )
    fit = bl.fit(train, "chinchilla", likelihood="gaussian", seed=0, **SMALL)
    return train, test, fit


def test_predict_widens_only_beyond_the_range_and_is_switchable(small_backtest):
    train, test, fit = small_backtest
    ex.distance.calibrate(fit, train, **CAL)
    state = fit.cache["distance"]
    assert state["source"] == "scale-out cross-validation"
    assert len(state["folds"]) == 2
    disc = {"kind": "new_run", "extrapolation": "discrepancy"}
    far = bl.predict(fit, N=test["N"], D=test["D"], **disc)
    plain = bl.predict(fit, N=test["N"], D=test["D"], kind="new_run", extrapolation="none")
    width = (far["upper"] - far["lower"]).to_numpy()
    plain_width = (plain["upper"] - plain["lower"]).to_numpy()
    assert np.all(width >= plain_width * 0.98)
    assert np.mean(width) > np.mean(plain_width)
    # at the centre of the training runs nothing changes
    centre = train.df.iloc[[len(train.df) // 2]]
    a = bl.predict(fit, N=centre["N"], D=centre["D"], **disc)
    b = bl.predict(fit, N=centre["N"], D=centre["D"], kind="new_run", extrapolation="none")
    pd.testing.assert_frame_equal(a, b)
    # "mean" predictions are never widened
    m1 = bl.predict(fit, N=test["N"], D=test["D"])
    m2 = bl.predict(fit, N=test["N"], D=test["D"], extrapolation="none")
    pd.testing.assert_frame_equal(m1, m2)


def test_state_is_saved_and_load_fit_predicts_identically(small_backtest, tmp_path):
    train, test, fit = small_backtest
    if "distance" not in fit.cache:
        ex.distance.calibrate(fit, train, **CAL)
    before = bl.predict(fit, N=test["N"], D=test["D"], kind="new_run", seed=3)
    loaded = bl.load_fit(fit.save(tmp_path / "fit.nc"))
    assert loaded.cache["distance"]["weights"] == fit.cache["distance"]["weights"]
    after = bl.predict(loaded, N=test["N"], D=test["D"], kind="new_run", seed=3)
    pd.testing.assert_frame_equal(before, after)


def test_lazy_state_without_training_data_falls_back_to_the_prior(small_backtest):
    _, test, fit = small_backtest
    bare = _respec(fit, drop=("distance",), training_runs=None)
    with pytest.warns(UserWarning, match="no training runs"):
        out = bl.predict(
            bare, N=test["N"], D=test["D"], kind="new_run", extrapolation="discrepancy"
        )
    assert bare.cache["distance"]["source"] == "prior"
    assert np.all(out["upper"] > out["lower"])


def test_correct_form_intervals_cover_held_out_runs(small_backtest):
    train, test, fit = small_backtest
    if "distance" not in fit.cache:
        ex.distance.calibrate(fit, train, **CAL)
    points = query_frame(fit, N=test["N"].to_numpy(), D=test["D"].to_numpy())
    z = np.asarray(log_loss_draws(fit, points, "new_run"))
    out = cal.score(test["loss"], z)
    # 5 held-out runs with the true form and 1% noise: the law is right, so the 90% interval
    # should miss at most one (P(>= 2 misses | calibrated) ~ 8%; seeds fixed)
    assert out["cov90"] >= 0.8
    assert out["error"] < 0.03


def test_sbc_runs_and_ranks_are_not_degenerate():
    ranks, pvalues = cal.sbc(
        "chinchilla",
        "gaussian",
        n_sims=3,
        warmup=50,
        draws=50,
        thin=2,
        seed=1,
        params=["alpha", "beta"],
    )
    assert ranks.shape == (3, 5)
    assert set(ranks.columns) == {"alpha", "beta", "sigma", "divergences", "min_ess"}
    assert (ranks["divergences"] >= 0).all() and (ranks["min_ess"] > 0).all()
    r = ranks[["alpha", "beta", "sigma"]].to_numpy()
    assert r.min() >= 0 and r.max() <= 25
    # a broken fit puts the truth at the extremes; a calibrated one rarely (P ~ 2/26 per rank)
    extreme = np.mean((r == 0) | (r == 25))
    assert extreme < 0.5
    assert set(pvalues) == {"alpha", "beta", "sigma"}


def test_stacking_mixes_forms_beyond_the_range_only(small_backtest, monkeypatch):
    train, test, fit = small_backtest
    monkeypatch.setattr(ex.stacking, "MAX_R_HAT", np.inf)  # 100 draws of one chain
    state = ex.stacking.stack(
        fit, train, laws=("chinchilla", "kaplan"), chains=1, warmup=100, draws=100
    )
    assert fit.cache["stacking"] == state
    assert set(state["weights"]) == {"chinchilla", "kaplan"}
    assert sum(state["weights"].values()) == pytest.approx(1.0)
    # the true form is Chinchilla: LOO prefers it
    assert state["elpd_loo"]["chinchilla"] > state["elpd_loo"]["kaplan"]
    assert state["weights"]["chinchilla"] > 0.5
    centre = train.df.iloc[[len(train.df) // 2]]
    a = bl.predict(fit, N=centre["N"], D=centre["D"], kind="new_run", extrapolation="stacking")
    b = bl.predict(fit, N=centre["N"], D=centre["D"], kind="new_run", extrapolation="none")
    pd.testing.assert_frame_equal(a, b)
    # with equal weights, far draws come half from Kaplan (no floor: it predicts lower losses)
    # (on a copy sharing the draws, so the module's fit keeps its state)
    half = _respec(fit)
    half.cache["stacking"] = dict(state, weights={"chinchilla": 0.5, "kaplan": 0.5})
    points = query_frame(half, N=test["N"].to_numpy(), D=test["D"].to_numpy())
    mixed = np.asarray(log_loss_draws(half, points, "new_run", extrapolation="stacking"))
    plain = np.asarray(log_loss_draws(half, points, "new_run", extrapolation="none"))
    changed = np.mean(np.any(mixed != plain, axis=1))
    assert 0.4 < changed < 0.6
    assert np.all(np.isfinite(mixed))


@pytest.mark.slow
def test_stacking_plus_discrepancy_is_computed_lazily(small_backtest):
    train, test, module_fit = small_backtest
    # a copy sharing the draws, without the stacking and discrepancy states of other tests
    fit = _respec(module_fit, drop=("stacking", "distance"))
    sd = {"kind": "new_run", "seed": 5, "extrapolation": "stacking_discrepancy"}
    ex.distance.calibrate(fit, train, **CAL)  # the discrepancy part, small settings
    assert "stacking" not in fit.cache
    first = bl.predict(fit, N=test["N"], D=test["D"], **sd)
    # the first far new-run prediction stacked the forms (from the stored training runs)
    state = fit.cache["stacking"]
    assert set(state["laws"]) == set(ex.stacking.STACK_LAWS)
    again = bl.predict(fit, N=test["N"], D=test["D"], **sd)
    pd.testing.assert_frame_equal(first, again)  # the state is kept, not recomputed
    # the true form is Chinchilla, so stacking leaves little to other forms; force a mixture
    # to see that the method draws from it
    fit.cache["stacking"] = dict(state, weights=dict.fromkeys(state["laws"], 1 / 3))
    mixed = bl.predict(fit, N=test["N"], D=test["D"], **sd)
    disc = bl.predict(
        fit, N=test["N"], D=test["D"], kind="new_run", seed=5, extrapolation="discrepancy"
    )
    assert not np.allclose(mixed["median"], disc["median"])


def test_stacking_falls_back_to_the_discrepancy_where_it_is_unavailable(small_backtest):
    train, test, fit = small_backtest
    if "distance" not in fit.cache:
        ex.distance.calibrate(fit, train, **CAL)
    # a fit without its training runs cannot stack: warned once, recorded, discrepancy alone
    bare = _respec(fit, drop=("stacking",), training_runs=None)
    with pytest.warns(UserWarning, match="no stacking of functional forms"):
        out = bl.predict(
            bare,
            N=test["N"],
            D=test["D"],
            kind="new_run",
            seed=2,
            extrapolation="stacking_discrepancy",
        )
    assert bare.cache["unavailable"]["stacking"] == "the fit holds no training runs"
    disc = bl.predict(
        bare, N=test["N"], D=test["D"], kind="new_run", seed=2, extrapolation="discrepancy"
    )
    pd.testing.assert_frame_equal(out, disc)
    with pytest.raises(ValueError, match="stacking.*unavailable.*no training runs"):
        bl.predict(bare, N=test["N"], D=test["D"], kind="new_run", extrapolation="stacking")


def test_gp_method_changes_little_when_the_form_is_right(small_backtest):
    train, test, module_fit = small_backtest
    fit = _respec(module_fit, drop=("gp",))  # a copy sharing the draws, no GP state yet
    r = ex.gp.training_residuals(fit, train)
    assert r.shape == (len(train.df),) and abs(np.median(r)) < 0.01
    gp = bl.predict(fit, N=test["N"], D=test["D"], kind="new_run", seed=1, extrapolation="gp")
    assert fit.cache["gp"]["eta"] < 0.01  # simulated from the fitted form: little to find
    plain = bl.predict(fit, N=test["N"], D=test["D"], kind="new_run", seed=1, extrapolation="none")
    np.testing.assert_allclose(gp["median"], plain["median"], rtol=0.01)
    width = (gp["upper"] - gp["lower"]) / (plain["upper"] - plain["lower"])
    assert np.all(width > 0.95) and np.all(width < 1.5)


def test_default_is_the_gp_discrepancy_with_a_fallback_without_training_runs(small_backtest):
    train, test, module_fit = small_backtest
    assert ex.DEFAULT_METHOD == "gp"
    fit = _respec(module_fit, drop=("gp",))  # a copy sharing the draws, no GP state yet
    default = bl.predict(fit, N=test["N"], D=test["D"], kind="new_run", seed=4)
    assert "gp" in fit.cache  # fitted on first use from the stored training runs
    gp = bl.predict(fit, N=test["N"], D=test["D"], kind="new_run", seed=4, extrapolation="gp")
    pd.testing.assert_frame_equal(default, gp)
    # "mean" predictions are never changed
    m1 = bl.predict(fit, N=test["N"], D=test["D"])
    m2 = bl.predict(fit, N=test["N"], D=test["D"], extrapolation="none")
    pd.testing.assert_frame_equal(m1, m2)
    # without training runs: the distance discrepancy from its prior, announced and recorded
    bare = _respec(fit, drop=("gp", "distance"), training_runs=None)
    with pytest.warns(UserWarning, match="no GP discrepancy"):
        out = bl.predict(bare, N=test["N"], D=test["D"], kind="new_run", seed=4)
    assert "no training runs" in bare.cache["unavailable"]["gp"]
    assert bare.cache["distance"]["source"] == "prior"
    assert np.all(out["upper"] > out["lower"])


def test_stacking_is_unavailable_for_grouped_fits_and_other_laws(small_backtest):
    _, _, fit = small_backtest
    grouped = _respec(fit, drop=("stacking",), groups=["a", "b"])
    assert "several groups" in ex.stacking.unavailable(grouped)
    # relabelled as another law, without the fitted class's code digest (with it, fit.law
    # refuses: the draws lack the isoflop law's sites)
    extra = {k: v for k, v in (fit.record.extra or {}).items() if k != "law_code"}
    other = _respec(fit, drop=("stacking",), law="isoflop", extra=extra)
    assert "is not a loss surface L(N, D)" in ex.stacking.unavailable(other)
    assert ex.stacking.unavailable(_respec(fit, drop=("stacking",))) is None


# ---- real tables (../shared) ----
def _shared(loader, *args):
    try:
        return loader(*args)
    except SharedDataMissing as err:
        pytest.skip(f"../shared/data absent: {err}")


def test_real_splits_hold_out_what_the_issue_says():
    train, test = _shared(cal.epoch_split)
    assert len(test) == 23 and train.df["C"].max() <= 1e21
    assert any("backtest" in e.reason for e in train.exclusions)
    train, test = _shared(cal.porian_split, "rw/tuned/short/const")
    assert test["C"].nunique() == 2 and test["C"].min() > train.df["C"].max()
    train, test = _shared(cal.steplaw_split)
    assert np.allclose(test["N"], 1.07e9, rtol=0.01) and len(test) >= 1
    assert train.df.groupby(["N", "D"]).size().max() == 1


def test_sbc_runs_through_an_executor_on_the_designs_scales():
    """The fits go through map_tasks and the given executor, each centred on the design's
    reference scales (the prior simulated from), not on its own table."""
    import concurrent.futures as cf
    import pickle

    from bayeslaws.laws.contract import LawCapabilityError

    class Pickling(cf.ThreadPoolExecutor):
        """Sends each result through pickle, as a worker process would, and keeps its size."""

        def __init__(self, max_workers):
            super().__init__(max_workers)
            self.sizes = []

        def submit(self, fn, /, *args, **kwargs):
            def sent(*a, **k):
                out = fn(*a, **k)
                self.sizes.append(len(pickle.dumps(out)))
                return pickle.loads(pickle.dumps(out))

            return super().submit(sent, *args, **kwargs)

    with Pickling(max_workers=1) as pool:
        ranks, _ = cal.sbc("chinchilla", "gaussian", n_sims=2, warmup=30, draws=30, thin=1,
                           seed=3, params=["alpha"], executor=pool)
    assert ranks.shape == (2, 4) and ranks["alpha"].between(0, 30).all()
    # each worker ranks its own fit: a row of a few numbers travels back, not the fit
    assert len(pool.sizes) == 2 and max(pool.sizes) < 2000
    # chunk_size reaches the batch: both simulations in one submission, the same ranks
    with Pickling(max_workers=1) as pool:
        chunked, _ = cal.sbc("chinchilla", "gaussian", n_sims=2, warmup=30, draws=30, thin=1,
                             seed=3, params=["alpha"], executor=pool, chunk_size=2)
    assert len(pool.sizes) == 1 and chunked.equals(ranks)
    # by default ("auto") four chunks per worker: 5 simulations on 1 worker go 2, 2 and 1
    with Pickling(max_workers=1) as pool:
        five, _ = cal.sbc("chinchilla", "gaussian", n_sims=5, warmup=30, draws=30, thin=1,
                          seed=3, params=["alpha"], executor=pool)
    assert len(pool.sizes) == 3 and five.shape == (5, 4)
    law = bl.laws.resolve_law("chinchilla")
    scales = bl.laws.contract.Scales({"N": 20.0, "D": 23.0, "loss": 1.0})
    fixed = law.with_reference_scales(scales)
    assert law.reference_scales is None  # a copy: the registered law is untouched
    runs = bl.load_runs(pd.DataFrame({"N": [1e8, 2e8, 1e8, 2e8], "D": [1e9, 1e9, 4e9, 4e9],
                                      "loss": [3.0, 2.9, 2.8, 2.7]}))
    assert fixed.prepare(runs).scales == scales and law.prepare(runs).scales != scales
    for name in ("isoflop", "sweep"):  # laws whose centring is their data's own
        with pytest.raises(LawCapabilityError, match="fixed-scale"):
            bl.laws.resolve_law(name).with_reference_scales(scales)


def test_backtests_in_process_match_backtest_case_by_case():
    """A batch of backtests (one task per case, in process) scores each case as backtest does,
    the tables concatenated in case order with the case name in ``dataset``."""
    import pickle

    cases = [
        cal.BacktestCase(
            f"sim {seed}",
            *cal.simulated_split(
                "correct", seed=seed, n_per_budget=5, fit_budgets=(1e18, 1e19, 1e20),
                test_budgets=(1e21,),
            ),
        )
        for seed in (1, 2)
    ]
    options = dict(likelihood="gaussian", methods=("none", "gp"), chains=1, warmup=100,
                   draws=100, seed=0)
    scores, points, fits = cal.backtests(cases, **options)
    assert scores["dataset"].tolist() == ["sim 1", "sim 1", "sim 2", "sim 2"]
    assert list(points.columns[:2]) == ["dataset", "method"] and len(fits) == 2
    one, one_points, _ = cal.backtest(cases[1].train, cases[1].test, name="sim 2", **options)
    pd.testing.assert_frame_equal(scores.iloc[2:].reset_index(drop=True), one)
    batch_points = points[points["dataset"] == "sim 2"].drop(columns="dataset")
    pd.testing.assert_frame_equal(batch_points.reset_index(drop=True), one_points)
    # a fit with its discrepancy states pickles: what a worker process sends back
    assert "gp" in pickle.loads(pickle.dumps(fits[0])).cache
    with pytest.raises(TypeError, match="unknown backtest options \\['name'\\]"):
        cal.backtests(cases, name="x")
    with pytest.raises(ValueError, match="names must be unique"):
        cal.backtests([cases[0], cases[0]])
    with pytest.raises(ValueError, match="test lacks columns \\['loss'\\]"):
        cal.backtests([("bad", cases[0].train, cases[0].test.drop(columns="loss"))])
    with pytest.raises(RuntimeError, match="backtests: 1 of 1 tasks failed: 'sim 1': "):
        cal.backtests(cases[:1], law="no_such_law", retries=0)


def _no_fit(*args, **kwargs):
    raise AssertionError("fitted before the test table was checked")


BAD_TEST_TABLES = {  # how a held-out table is spoilt -> the start of the message
    "no loss": (lambda t: t.drop(columns="loss"), r" lacks columns \['loss'\] \(needs N, D, loss"),
    "NaN N": (lambda t: t.assign(N=[np.nan, *t["N"][1:]]), r": column 'N' must be finite and"),
    "text D": (lambda t: t.assign(D=["10B", *t["D"][1:]]), r": column 'D' must hold numbers"),
    "bool D": (lambda t: t.assign(D=[True, *t["D"][1:]]), r": column 'D' must hold numbers"),
    "inf C": (lambda t: t.assign(C=[np.inf, *t["C"][1:]]), r": column 'C' must be finite and"),
    "loss < 0": (lambda t: t.assign(loss=[-1.0, *t["loss"][1:]]), r": column 'loss' must be"),
    "no rows": (lambda t: t.iloc[:0], r" has no rows"),
}


@pytest.mark.parametrize("case", list(BAD_TEST_TABLES))
def test_backtest_checks_the_test_table_before_fitting(monkeypatch, case):
    """A test table without loss gave a bare KeyError, a NaN N a ValueError, both after the
    whole fit: now the table is refused first (the fit is not called), naming column and rows,
    by backtest and by backtests (through as_cases) alike."""
    train, test = cal.simulated_split(
        "correct", seed=4, n_per_budget=5, fit_budgets=(1e18, 1e19, 1e20), test_budgets=(1e21,)
    )
    monkeypatch.setattr(backtesting, "fit_law", _no_fit)
    change, message = BAD_TEST_TABLES[case]
    first = re.escape(f"{test.index[0]} ")  # rows are named by the table's own labels
    rows = "" if case in ("no loss", "no rows") else rf".* bad at rows {first}"
    with pytest.raises(ValueError, match=r"^test" + message + rows):
        cal.backtest(train, change(test), methods=("none",))
    with pytest.raises(ValueError, match=r"^cases\[0\] \('bad'\): test" + message + rows):
        cal.backtests([("bad", train, change(test))], methods=("none",))


def test_backtest_passes_a_table_with_runs_without_loss_on_to_the_fit(monkeypatch):
    """NaN or +inf losses (held-out runs that diverged) are not refused: they are left out of
    the scores later, with an UnscoredWarning."""
    train, test = cal.simulated_split(
        "correct", seed=4, n_per_budget=5, fit_budgets=(1e18, 1e19, 1e20), test_budgets=(1e21,)
    )
    monkeypatch.setattr(backtesting, "fit_law", _no_fit)
    test = test.assign(loss=[np.nan, np.inf, *test["loss"][2:]])
    with pytest.raises(AssertionError, match="fitted before"):
        cal.backtest(train, test, methods=("none",))


def test_sbc_items_checks_n_sims_and_draws_from_the_prior():
    """Bad sizes name the argument; each simulation carries its own losses and truths."""
    with pytest.raises(ValueError, match="n_sims"):
        cal.sbc_items("chinchilla", n_sims=0)
    items = cal.sbc_items("chinchilla", n_sims=3, seed=1, params=["alpha"])
    assert [item.name for item in items] == ["sbc0", "sbc1", "sbc2"]
    assert {tuple(item.truth) for item in items} == {("alpha", "sigma")}
    losses = np.stack([item.loss for item in items])
    assert losses.shape == (3, 25) and np.all(losses > 0)
    assert len({item.truth["alpha"] for item in items}) == 3  # independent prior draws
    assert len({item.options["seed"] for item in items}) == 3


def test_simulated_split_refuses_test_budgets_inside_the_fitted_ones():
    """Held-out budgets at or below the largest fit budget were fitted (test_budgets=(1e19,):
    nothing held out) or duplicated (1e20 both fitted and held out): refused now, naming
    test_budgets and the fit budgets. The default split is unchanged."""
    from bayeslaws.posterior import splits

    train, test = splits.simulated_split("correct")
    assert (len(train.df), len(test)) == (35, 14) and test["C"].min() > train.df["C"].max()
    for budgets in ((1e19,), (1e20, 1e22), ()):
        with pytest.raises(ValueError, match="test_budgets") as err:
            splits.simulated_split("correct", test_budgets=budgets)
        assert budgets == () or "1e+18, 3e+18, 1e+19, 3e+19, 1e+20" in str(err.value)
    with pytest.raises(ValueError, match="fit_budgets"):
        splits.simulated_split("correct", fit_budgets=())


@pytest.mark.parametrize(
    "call, word, listed",
    [
        (lambda s: s.porian_split(n_budgets=0), "n_budgets must be an integer from 1 to", "FLOPs"),
        (lambda s: s.porian_split(n_budgets=-1), "n_budgets", "FLOPs"),
        (lambda s: s.porian_split(n_budgets=100), "n_budgets", "FLOPs"),
        (lambda s: s.steplaw_split(n_holdout=1e9), "n_holdout=1e+09 (matched", "1.0737e+09"),
        (lambda s: s.steplaw_split(d_holdout=1e15), "d_holdout=1e+15", "1e+11 (tokens)"),
        (lambda s: s.steplaw_split(d_holdout=1e9), "every run", "4e+09"),
        (lambda s: s.epoch_split(c_max=1e30), "c_max=1e+30 on axis 'C' holds out no run", "FLOPs"),
    ],
)
def test_real_splits_refuse_an_empty_or_total_holdout(call, word, listed):
    """porian_split(n_budgets=0) held out everything, -1 nonsense, 100 an IndexError;
    steplaw_split(n_holdout=1e9) held out nothing (the table's size is 1.0737e9); each now
    raises a ValueError naming the argument and listing the values available."""
    from bayeslaws.posterior import splits

    with pytest.raises(ValueError, match=re.escape(word)) as err:
        _shared(call, splits)
    assert listed in str(err.value)


# ---- decision quantities, bootstrap bounds, the widths ray (2026-12 fixes) ----
def _load_benchmark(name: str):
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _fake_allocation(monkeypatch, n_opt):
    """allocation_draws replaced by fixed N_opt draws (S, Q); at_boundary where a draw is the
    search range's lower bound."""
    from bayeslaws.posterior import allocation

    edge = np.isclose(n_opt, 10.0)

    def fake(fit, C, seed=0, extrapolation="gp", **kw):
        return {"N_opt": n_opt, "D_opt": C / (6 * n_opt), "L_opt": np.full(n_opt.shape, 3.0),
                "at_boundary": edge, "method": "numerical"}  # fmt: skip

    monkeypatch.setattr(allocation, "allocation_draws", fake)


def test_decision_scores_do_not_count_hits_of_intervals_bounded_by_the_search_edge(
    monkeypatch, simulated_fit
):
    """A 90% interval [~10, 4e8] whose lower end is the 10-parameter search bound 'covered' a
    truth 80x below the bulk of the draws; the share of draws at the edge was dropped. Now each
    row carries at_boundary_share, edge_bounded90 and in90_bounded (in90 and not edge-bounded),
    and the truth's own interval (truth_lower, truth_upper) when given."""
    from bayeslaws.laws.optimum import search_range

    rng = np.random.default_rng(0)
    s = 400
    bulk = 4e8 * np.exp(0.1 * rng.standard_normal((s, 2)))
    n_opt = np.where(np.arange(s)[:, None] < 120, [10.0, 4e8], bulk)  # budget 0: 30% at the edge
    _fake_allocation(monkeypatch, n_opt)
    truth = pd.DataFrame({"C": [1.28e19, 1.28e19], "N_opt": [5e6, 4e8], "L_opt": [3.0, 3.0],
                          "N_opt_lower": [3e6, 2e8], "N_opt_upper": [8e6, 6e8]})  # fmt: skip
    out = cal.decision_scores(simulated_fit, truth, "model").set_index(["quantity", "truth"])
    edge, inside = out.loc[("N_opt", 5e6)], out.loc[("N_opt", 4e8)]
    assert edge["in90"] and edge["edge_bounded90"] and not edge["in90_bounded"]
    assert edge["at_boundary_share"] == pytest.approx(0.3)
    assert inside["in90"] and inside["in90_bounded"] and not inside["edge_bounded90"]
    assert inside["at_boundary_share"] == 0.0
    assert (edge["truth_lower"], edge["truth_upper"]) == (3e6, 8e6)
    assert np.isnan(out.loc[("L_opt", 3.0), "truth_lower"]).all()
    # the edge rule follows the search range: 10 params .. 1e6 sqrt(C), 2 grid steps in ln N
    bottom, top = cal.edge_bounds([1e20])
    lo, hi = np.exp(search_range([1e20]))
    assert lo < bottom < 1.2 * lo and hi / 1.2 < top < hi
    assert cal.edge_bounded([9.37, 1e3], [2.5e8, 1e9], [1e20, 1e20]).tolist() == [True, False]
    assert cal.edge_bounded([1e8], 0.999 * hi, [1e20]).tolist() == [True]


def test_bootstrap_rate_gives_no_interval_with_fewer_than_five_groups():
    """One held-out budget resampled always gave the same rate: a zero-width '90% interval'
    (two budgets: three values). With fewer than 5 groups the bounds are now NaN."""
    hits = np.array([1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 1, 1], bool)
    rate, lo, hi = cal.bootstrap_rate(hits, groups=np.full(15, 3e20))
    assert rate == pytest.approx(7 / 15) and np.isnan(lo) and np.isnan(hi)
    for groups in (np.repeat([1, 2], [7, 8]), np.arange(15) % 4):
        assert np.isnan(cal.bootstrap_rate(hits, groups)[1:]).all()
    assert np.isnan(cal.bootstrap_rate(hits[:4])[1:]).all()  # 4 single points
    assert np.isnan(cal.bootstrap_rate(np.array([False]))[1:]).all()
    rate, lo, hi = cal.bootstrap_rate(hits, np.arange(15) % 5)
    assert lo < rate < hi


def test_widths_by_distance_starts_at_the_best_top_budget_run_whatever_the_row_order(
    small_backtest,
):
    """The ray started at the first row at the largest stored C (row-order dependent; at 1.7 to
    1650 tokens/param on real tables) and took its compute from the stored C (a nominal budget
    on Marin). Now it starts at the lowest-loss run of the top budget, compute 6ND of it."""
    _, _, fit = small_backtest
    data = fit.record.training_runs
    order = np.arange(len(data["C"]))[::-1]
    nominal = dict(data, C=[float(f"{c:.0e}") * 1.25 for c in data["C"]])  # a budget label
    w = cal.widths_by_distance(fit, "none")
    for runs in ({k: [v[i] for i in order] for k, v in data.items()}, nominal):
        other = cal.widths_by_distance(_respec(fit, training_runs=runs), "none")
        pd.testing.assert_frame_equal(w, other)
    df = fit.training_runs().df
    top = df[np.isclose(df["C"], df["C"].max(), rtol=1e-3)]
    best = top.loc[top["loss"].idxmin()]
    assert np.allclose(w["D"] / w["N"], best["D"] / best["N"])
    assert np.allclose(6 * w["N"] * w["D"], 6 * best["N"] * best["D"] * 10.0 ** w["decades"])


def test_benchmark_keeps_the_vertex_interval_and_reports_the_protocol_error():
    """decision_truth dropped the empirical vertex's bootstrap interval (the protocol reports it
    beside the vertex) and the scores' N_opt 'error' was median(exp(|ln|) - 1), not the
    protocol's median |ln(median / vertex)|; decision coverage is also counted without
    edge-bounded intervals."""
    bench = _load_benchmark("calibration")
    N = np.logspace(8, 9, 7)
    test = pd.DataFrame({"N": N, "C": 1e20, "loss": 2.5 + 0.1 * np.log(N / 3e8) ** 2})
    truth = bench.decision_truth("vertex", "x", test)
    assert {"N_opt", "N_opt_lower", "N_opt_upper", "L_opt_lower", "L_opt_upper"} <= set(truth)
    assert truth["N_opt_lower"].iloc[0] <= truth["N_opt"].iloc[0] <= truth["N_opt_upper"].iloc[0]
    g = pd.DataFrame({"quantity": "N_opt", "log_error": [0.1, 0.5, 2.0], "median": 1.0,
                      "lower90": 0.5, "upper90": 2.0, "in50": False, "in80": True,
                      "in90": [True, True, False], "edge_bounded90": [True, False, False],
                      "in90_bounded": [False, True, False]})  # fmt: skip
    row = bench.decision_summary(g)
    assert row["log_error"] == pytest.approx(0.5) and "error" not in row
    assert (row["cov90"], row["cov90_bounded"], row["n_edge_bounded90"]) == (2 / 3, 1 / 3, 1)
    assert np.isnan(row["cov90_lower"])  # 3 budgets: no bootstrap interval
    assert set(bench.POINT_COLUMNS) >= {"truth_lower", "edge_bounded90", "in90_bounded"}
