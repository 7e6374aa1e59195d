"""Calibration review fixes: the SBC refits' centring, held-out runs without a loss, held-out
budgets without an N_opt truth."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import repo_script

from bayeslaws.laws import resolve_law
from bayeslaws.posterior import calibration as cal
from bayeslaws.runs import PlausibilityWarning, load_runs

TINY = dict(chains=1, warmup=50, draws=50)


def _benchmark():
    """benchmarks/calibration.py as a module (it is a script, not part of the package)."""
    return repo_script("benchmarks/calibration.py", "bench_calibration_review")


# ---- 1. SBC refits use the prior that was simulated from ----
def test_sbc_items_refit_on_the_designs_reference_scales_not_their_own():
    """Each refit law is centred on the design's reference scales (those the prior draws were
    simulated on), whatever its simulated losses: a refit centred on its own table has a
    different loss scale, so a different prior, and its SBC ranks are not uniform."""
    items = cal.sbc_items("chinchilla", n_sims=3, warmup=10, draws=10, thin=1, seed=3)
    law = resolve_law("chinchilla")
    design = load_runs(items[0].design.assign(loss=3.0))
    reference = law.prepare(design).scales  # the centring of sbc_items' prior draw
    for item in items:
        with warnings.catch_warnings():  # prior draws are implausible tables by design
            warnings.simplefilter("ignore", PlausibilityWarning)
            runs = load_runs(item.design.assign(loss=item.loss))
        assert item.law.reference_scales == reference, item.name
        assert item.law.prepare(runs).scales == reference, item.name
        # the check has teeth: the table's own centring differs (in its loss scale)
        assert law.prepare(runs).scales["loss"] != pytest.approx(reference["loss"], abs=1e-6)


def test_a_small_sbc_of_the_chinchilla_law_is_not_rejected():
    """20 simulations (40 draws, thinned by 2: ranks 0..20) of the Gaussian Chinchilla fit:
    no parameter's ranks are rejected as non-uniform at p < 0.001 (the smallest p-value is
    0.18 at this seed). Refits centred on their own tables instead of the design's scales
    give p(e) < 1e-5 here (their ranks of e pile up at 0 and 20)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ranks, p = cal.sbc("chinchilla", n_sims=20, chains=1, warmup=40, draws=40, thin=2,
                           seed=3)  # fmt: skip
    assert len(ranks) == 20 and set(p) == {"alpha", "beta", "a", "b", "e", "sigma"}
    assert min(p.values()) > 1e-3, p


# ---- 2. held-out runs without a loss ----
def test_score_leaves_out_runs_without_a_loss_with_a_warning_and_a_count():
    """A NaN actual loss (a run that diverged) is neither a hit nor a miss: every score is over
    the runs with a loss, the left-out rows are named and counted."""
    rng = np.random.default_rng(0)
    draws = np.log(3.0) + 0.01 * rng.standard_normal((400, 4))
    actual = np.array([3.0, 3.01, np.nan, 2.99])
    with pytest.warns(cal.UnscoredWarning, match=r"1 of 4 held-out runs .* rows \['c'\]"):
        out = cal.score(actual, draws, rows=["a", "b", "c", "d"])
    keep = [0, 1, 3]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to leave out: no warning
        same = cal.score(actual[keep], draws[:, keep])
    assert out == {**same, "n_unscored": 1}
    assert (out["n"], same["n_unscored"]) == (3, 0) and out["cov90"] == 1.0
    assert np.isfinite(out["error"])
    table = cal.interval_table(actual, draws)
    assert table["scored"].tolist() == [True, True, False, True]
    with pytest.warns(cal.UnscoredWarning, match="2 of 2"):
        empty = cal.score([np.nan, np.nan], draws[:, :2])
    assert empty["n"] == 0 and np.isnan([empty["error"], empty["cov90"], empty["lpd"]]).all()


@pytest.fixture(scope="module")
def split_with_a_diverged_run():
    """A simulated split (25 fitted runs, 10 held out at 1e21 and 1e22 FLOPs) whose held-out
    row 2 has no loss (NaN)."""
    train, test = cal.simulated_split(
        "correct", seed=4, n_per_budget=5, fit_budgets=(1e18, 3e18, 1e19, 3e19, 1e20),
        test_budgets=(1e21, 1e22),
    )  # fmt: skip
    test = test.reset_index(drop=True)
    test.loc[2, "loss"] = np.nan
    return train, test


def test_backtest_scores_only_held_out_runs_with_a_loss(split_with_a_diverged_run):
    train, test = split_with_a_diverged_run
    with pytest.warns(cal.UnscoredWarning, match=r"1 of 10 held-out runs .* rows \[2\]"):
        scores, points, _ = cal.backtest(
            train, test, methods=("none",), likelihood="gaussian", name="sim", **TINY
        )
    row = scores.iloc[0]
    scored = points[points["scored"]]
    assert points["scored"].tolist() == [i != 2 for i in range(10)]
    assert (row["n"], row["n_unscored"]) == (9, 1)
    assert row["cov90"] == pytest.approx(scored["in90"].mean())
    assert row["lpd"] == pytest.approx(scored["lpd"].mean())
    assert row["error"] == pytest.approx(np.median(np.abs(scored["median"] / scored["actual"] - 1)))


def test_benchmark_split_scores_and_bootstraps_only_runs_with_a_loss(
    split_with_a_diverged_run, tmp_path
):
    """benchmarks/calibration.py's score_split: the loss row counts the scored runs and its
    bootstrap interval resamples those runs alone (a NaN run no longer counts as a miss)."""
    bench = _benchmark()
    train, test = split_with_a_diverged_run
    with pytest.warns(cal.UnscoredWarning, match=r"rows \[2\]"):
        scores, points, _ = bench.score_split(
            "simulation", "sim", "seed 4", train, test, None, None, ["none"],
            TINY, 0, tmp_path, bench.POPULATION,
        )  # fmt: skip
    row = scores[scores["quantity"] == "loss"].iloc[0]
    hits = points.loc[points["scored"], "in90"]
    assert row["n"] == 9 and row["cov90"] == pytest.approx(hits.mean())
    _, lo, hi = cal.bootstrap_rate(hits.to_numpy(), seed=0)  # over the 9 scored runs
    assert np.isfinite([lo, hi]).all()
    assert (row["cov90_lower"], row["cov90_upper"]) == pytest.approx((lo, hi))


# ---- 3. held-out budgets without an N_opt truth ----
def test_benchmark_keeps_a_budget_without_a_vertex_visible():
    """A held-out budget whose isoFLOP curve has no minimum stays in decision_truth, flagged
    not scorable; scorable_truth leaves it out of the decision scores with a warning naming
    its budget."""
    bench = _benchmark()
    N = np.logspace(8, 9, 5)
    good = pd.DataFrame({"C": 1e20, "N": N, "loss": 3 + 0.05 * np.log(N / 3e8) ** 2})
    flat = pd.DataFrame({"C": 1e21, "N": N, "loss": 2.9 - 0.01 * np.log(N / 3e8) ** 2})
    truth = bench.decision_truth("vertex", "x", pd.concat([good, flat], ignore_index=True))
    assert truth["C"].tolist() == [1e20, 1e21]
    assert truth["scorable"].tolist() == [True, False] and np.isnan(truth["N_opt"].iloc[1])
    with pytest.warns(cal.UnscoredWarning, match=r"x: 1 of 2 held-out budgets .*\['1e\+21'\]"):
        kept = bench.scorable_truth(truth, "x")
    assert kept["C"].tolist() == [1e20] and "scorable" not in kept
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every budget has a truth: no warning
        sim = bench.scorable_truth(bench.decision_truth(("sim", "correct"), "s", flat), "s")
    assert sim["C"].tolist() == [1e21] and np.isfinite(sim["N_opt"]).all()
