"""Held-out runs without a loss and budgets without a truth are left unscored (named and
counted) in scores, backtests, decision scores and the benchmarks' pooling."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import repo_script

from bayeslaws.posterior import allocation
from bayeslaws.posterior import calibration as cal

TINY = dict(chains=1, warmup=50, draws=50)


def _benchmark():
    """benchmarks/calibration.py as a module (it is a script, not part of the package)."""
    return repo_script("benchmarks/calibration.py", "bench_calibration_review")


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


HITS = ["in50", "in80", "in90", "in90_bounded"]


# ---- 1: a budget whose truth is NaN is neither hit nor miss ----
def _fake_allocation(monkeypatch, n_budgets: int, seed: int = 0):
    """allocation_draws replaced by draws (1000, n_budgets) around N_opt 1e9 params and L_opt
    2.5, none at the search edge."""
    rng = np.random.default_rng(seed)

    def fake(fit, C, seed=0, extrapolation=None, **kw):
        shape = (1000, n_budgets)
        return {
            "N_opt": np.exp(np.log(1e9) + 0.1 * rng.standard_normal(shape)),
            "L_opt": 2.5 + 0.01 * rng.standard_normal(shape),
            "at_boundary": np.zeros(shape, bool),
        }

    monkeypatch.setattr(allocation, "allocation_draws", fake)


def test_decision_scores_leave_a_budget_without_a_truth_unscored_and_name_it(
    monkeypatch, simulated_fit
):
    """A NaN truth was counted a miss (in90 False), silently: one scorable budget that was hit
    gave N_opt coverage 0.5. Now its hit flags are NA (means skip them), ``scored`` is False
    and an UnscoredWarning names the budget and quantity."""
    _fake_allocation(monkeypatch, 3)
    truth = pd.DataFrame(
        {"C": [1e21, 1e22, 3e22], "N_opt": [1e9, np.nan, 1e9], "L_opt": [2.5, np.nan, np.inf]}
    )
    with pytest.warns(cal.UnscoredWarning) as record:
        out = cal.decision_scores(simulated_fit, truth, "gp")
    (message,) = [str(w.message) for w in record if w.category is cal.UnscoredWarning]
    assert "3 of 6 decision rows" in message
    assert "C=1e+22 N_opt" in message and "C=1e+22 L_opt" in message
    assert "C=3e+22 L_opt" in message and "C=3e+22 N_opt" not in message
    assert out["scored"].tolist() == [True, True, False, False, True, False]
    unscored = out[~out["scored"]]
    assert unscored[HITS].isna().all().all()
    assert unscored["log_error"].isna().all()
    scored = out[out["scored"]]
    assert scored[HITS].notna().all().all() and scored["in90"].all()
    # means over the hit flags count the scored budgets only
    n_opt = out[out["quantity"] == "N_opt"]
    assert n_opt["in90"].mean() == 1.0 and n_opt["in90_bounded"].mean() == 1.0
    assert out.loc[out["quantity"] == "L_opt", "in90"].sum() == 1
    # the median and interval are still reported for an unscored budget
    assert np.isfinite(unscored[["median", "lower90", "upper90"]].to_numpy()).all()
    # a hit flag of an unscored row cannot be read as True or False by mistake
    with pytest.raises(TypeError):
        bool(unscored["in90"].iloc[0])


def test_decision_scores_with_every_truth_finite_warn_nothing_and_keep_their_hits(
    monkeypatch, simulated_fit
):
    _fake_allocation(monkeypatch, 2)
    truth = pd.DataFrame({"C": [1e21, 1e22], "N_opt": [1e9, 1e11], "L_opt": [2.5, 2.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", cal.UnscoredWarning)
        out = cal.decision_scores(simulated_fit, truth, "gp")
    assert out["scored"].all()
    assert out[HITS].notna().all().all()
    by = out.set_index(["C", "quantity"])
    assert by.loc[(1e21, "N_opt"), "in90"] and by.loc[(1e21, "L_opt"), "in90"]
    assert not by.loc[(1e22, "N_opt"), "in90"] and not by.loc[(1e22, "L_opt"), "in90"]
    expected = (out["lower90"] <= out["truth"]) & (out["truth"] <= out["upper90"])
    assert out["in90"].astype(bool).tolist() == expected.tolist()


def test_an_isoflop_curve_without_a_minimum_is_unscored_not_a_miss(monkeypatch, simulated_fit):
    """The docstring's own pipeline: a held-out budget's empirical vertex as the truth. A curve
    without a minimum has a NaN vertex; it is left out, by name, not counted a miss."""
    N = np.geomspace(1e8, 1e10, 7)
    u = np.log(N / 1e9)
    bowl = pd.DataFrame({"C": 1e21, "N": N, "loss": np.exp(np.log(2.5) + 0.05 * u**2)})
    falling = pd.DataFrame({"C": 1e22, "N": N, "loss": np.exp(1.0 - 0.02 * u - 0.001 * u**2)})
    vertices = cal.empirical_vertices(pd.concat([bowl, falling]), n_boot=50)
    assert np.isnan(vertices.loc[vertices["C"] == 1e22, "N_vertex"]).all()
    truth = vertices.rename(columns=lambda c: c.replace("_vertex", "_opt"))
    _fake_allocation(monkeypatch, 2)
    with pytest.warns(cal.UnscoredWarning, match=r"C=1e\+22 N_opt"):
        out = cal.decision_scores(simulated_fit, truth, "gp")
    n_opt = out[out["quantity"] == "N_opt"]
    assert n_opt["scored"].tolist() == [True, False]
    assert n_opt["in90"].mean() == 1.0  # the one scorable budget, hit (was 0.5)


@pytest.fixture(scope="module")
def choose_default():
    return repo_script("benchmarks/choose_default.py", "choose_default_review5")


def _points(method: str = "gp") -> pd.DataFrame:
    """Points-file rows of one split: 4 loss rows (one without a loss: in90 False in the file)
    and 3 N_opt rows (one without a truth: in90 NA)."""
    loss = pd.DataFrame(
        {
            "quantity": "loss",
            "actual": [2.0, 2.1, 2.2, np.nan],
            "median": [2.02, 2.1, 2.0, 2.3],
            "lower90": [1.9, 2.0, 1.9, 2.2],
            "upper90": [2.1, 2.2, 2.1, 2.4],
            "in90": [True, True, False, False],
            "lpd": [1.0, 2.0, 0.0, np.nan],
            "truth": np.nan,
            "log_error": np.nan,
        }
    )
    n_opt = pd.DataFrame(
        {
            "quantity": "N_opt",
            "actual": np.nan,
            "median": [1e9, 2e9, 3e9],
            "lower90": [5e8, 1e9, 2e9],
            "upper90": [2e9, 4e9, 4e9],
            "in90": pd.array([True, False, pd.NA], dtype="boolean"),
            "lpd": np.nan,
            "truth": [1e9, 5e9, np.nan],
            "log_error": [0.0, np.log(2.5), np.nan],
        }
    )
    rows = pd.concat([loss, n_opt], ignore_index=True)
    return rows.assign(part="selection", dataset="d", split="s", method=method)


def test_choose_default_pools_only_scored_points(choose_default):
    """A held-out run without a loss (in90 False in the points file) lowered the pooled loss
    coverage and made the pooled error and lpd NaN; a budget without a truth lowered the N_opt
    coverage. Now only scored rows are pooled."""
    table = choose_default.pooled(_points())
    row = table.loc["gp"]
    assert row["n_loss"] == 3 and row["cov90_loss"] == pytest.approx(2 / 3)
    assert row["error_loss"] == pytest.approx(0.01)  # median of 0.01, 0, 0.091
    assert row["lpd_loss"] == pytest.approx(1.0)
    assert row["n_N_opt"] == 2 and row["cov90_N_opt"] == pytest.approx(0.5)
    assert row["error_N_opt"] == pytest.approx(np.log(2.5) / 2)


def test_choose_default_rewrites_the_recorded_decision_unchanged(choose_default, tmp_path):
    """The stored points files hold no unscored row: pooling scored rows only changes nothing
    in the recorded decision (output/calibration_choice.txt)."""
    stored = choose_default.OUT
    if not (stored / "calibration_points_selection.csv").exists():
        pytest.skip("benchmarks/output/calibration_points_selection.csv is absent")
    shutil.copy(stored / "calibration_points_selection.csv", tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert choose_default.main(["--out", str(tmp_path)]) == 0
    expected = (stored / "calibration_choice.txt").read_text()
    assert (tmp_path / "calibration_choice.txt").read_text() == expected
