"""Backtests, decision scores and widths_by_distance of a grouped fit answer each held-out run or
budget for its own group (a new group warned about). Tiny fits (1 chain x 150 + 150) of
SIMULATED grouped runs (conftest's TWO_SCALES groups)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import TWO_SCALES, own_cache, two_scales_runs

import bayeslaws as bl
from bayeslaws.posterior import allocation
from bayeslaws.posterior import calibration as cal
from bayeslaws.posterior.extrapolation import distance
from bayeslaws.runs import simulate

TINY = {"likelihood": "gaussian", "chains": 1, "warmup": 150, "draws": 150, "seed": 0}


# held-out runs one step beyond each group's fitted sizes and token counts (SIMULATED)
BEYOND = {"small": ([6e8], [2e10, 3e10]), "large": ([2e10], [4e11, 6e11])}


def _held_out(name: str) -> pd.DataFrame:
    """Group ``name``'s SIMULATED runs beyond its fitted range, from its own truth."""
    truth = TWO_SCALES[name][0]
    N, D = np.meshgrid(*BEYOND[name])
    sim = {**truth, "N": N.ravel(), "D": D.ravel()}
    return simulate.simulate_chinchilla_runs(sim, noise_sd=0.01, seed=7).assign(group=name)


@pytest.fixture(scope="module")
def grouped_split():
    """(train RunTable of groups 'small' and 'large', 12 runs each; held-out runs, 2 each)."""
    fitted = [two_scales_runs("small", "small"), two_scales_runs("large", "large")]
    held = [_held_out("small"), _held_out("large")]
    table = pd.concat(fitted + held, ignore_index=True)
    runs = bl.load_runs(table)
    mask = np.r_[np.zeros(24, bool), np.ones(len(table) - 24, bool)]
    return cal.split_by(runs, mask, "held out beyond each group's range")


@pytest.fixture(scope="module")
def grouped_backtests(grouped_split):
    """backtests of the grouped split: 'own' (the held-out runs, plus one 'large' run labelled
    'mystery', a group the fit lacks) and 'no group' (the test table without its group
    column); the warnings they gave."""
    train, test = grouped_split
    mystery = test[test["group"] == "large"].iloc[:1].assign(group="mystery")
    mystery.index = ["mystery run"]
    own = pd.concat([test, mystery])
    cases = [("own", train, own), ("no group", train, test.drop(columns="group"))]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        scores, points, fits = cal.backtests(cases, methods=("none",), **TINY)
    return cases, points, fits, [str(w.message) for w in record]


def _median(fit, rows: pd.DataFrame, group) -> np.ndarray:
    """bl.predict's new-run median (no extrapolation term) of ``rows`` for ``group``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = bl.predict(
            fit, N=rows["N"].to_numpy(), D=rows["D"].to_numpy(), kind="new_run", group=group,
            extrapolation="none",
        )  # fmt: skip
    return out["median"].to_numpy()


# ---- 1. held-out runs of a grouped fit, each for its own group ----
def test_backtest_predicts_each_held_out_run_for_its_own_group(grouped_backtests):
    """Every held-out run was predicted as a NEW group (group=None), silently: intervals of a
    group the runs are not. Now each run gets its own fitted group's prediction (as
    bl.predict(..., group=<its group>) gives it) and its distance from that group's range."""
    cases, points, fits, _ = grouped_backtests
    _, _, own = cases[0]
    fit = fits[0]
    assert sorted(fit.groups) == ["large", "small"]
    mine = points[points["dataset"] == "own"].reset_index(drop=True)
    for name in ("small", "large"):
        at = np.flatnonzero((own["group"] == name).to_numpy())
        rows = own.iloc[at]
        np.testing.assert_allclose(mine.loc[at, "median"], _median(fit, rows, name), rtol=1e-9)
        ranges = distance.group_ranges(fit, name)
        flops = fit.compute_model.flops(rows["N"].to_numpy(), rows["D"].to_numpy())
        expected = distance.distance_decades(rows["N"], rows["D"], flops, ranges)
        np.testing.assert_allclose(mine.loc[at, "distance"], expected, rtol=1e-9)
    # the two groups' predictions differ from a new group's at the same point
    small = own[own["group"] == "small"]
    assert not np.allclose(_median(fit, small, "small"), _median(fit, small, None), rtol=1e-3)


def test_backtest_runs_of_an_unknown_group_or_without_a_group_column_are_a_warned_new_group(
    grouped_backtests,
):
    """A run of a group the fit lacks, and every run of a table without a group column, is
    predicted as a new group, and one UserWarning names them."""
    cases, points, fits, messages = grouped_backtests
    _, _, own = cases[0]
    mine = points[points["dataset"] == "own"].reset_index(drop=True)
    at = np.flatnonzero((own["group"] == "mystery").to_numpy())
    np.testing.assert_allclose(
        mine.loc[at, "median"], _median(fits[0], own.iloc[at], None), rtol=1e-9
    )
    (note,) = [m for m in messages if m.startswith("backtests:") and "NEW" in m]
    assert "'own': group(s) mystery (rows mystery run)" in note
    assert "'no group': the fit has 2 groups (large, small) but the table has no 'group'" in note
    bare = points[points["dataset"] == "no group"]
    np.testing.assert_allclose(bare["median"], _median(fits[1], cases[1][2], None), rtol=1e-9)


def test_decision_scores_answer_each_budget_for_its_group(grouped_backtests):
    """decision_scores asked allocation_draws for a new group at every budget. Now a budget's
    row of a truth table with a group column is answered for that group; without one, a new
    group, with a UserWarning."""
    _, _, fits, _ = grouped_backtests
    fit = own_cache(fits[0])
    truth = pd.DataFrame(
        {"C": [1e21, 1e21], "N_opt": [1e9, 1e9], "L_opt": [2.5, 2.5], "group": ["small", "large"]}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = cal.decision_scores(fit, truth, "none").query("quantity == 'N_opt'")
        for row, name in zip(out.itertuples(), ("small", "large"), strict=True):
            draws = allocation.allocation_draws(fit, [1e21], group=name, extrapolation="none")
            assert row.median == pytest.approx(np.median(draws["N_opt"]), rel=1e-9)
        new = allocation.allocation_draws(fit, [1e21], group=None, extrapolation="none")
    assert out["median"].iloc[0] != pytest.approx(out["median"].iloc[1], rel=1e-3)
    with pytest.warns(UserWarning, match="decision_scores: the fit has 2 groups"):
        bare = cal.decision_scores(fit, truth.drop(columns="group"), "none")
    assert bare["median"].iloc[0] == pytest.approx(np.median(new["N_opt"]), rel=1e-9)


def test_widths_by_distance_takes_a_group_and_warns_for_a_new_one(grouped_backtests):
    """widths_by_distance predicted a new group from the pooled top run, silently. Now
    group= starts the ray at that group's own best top-budget run and predicts for it;
    group=None on a grouped fit warns that it answers for a new group."""
    _, _, fits, _ = grouped_backtests
    fit = own_cache(fits[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = cal.widths_by_distance(fit, "none", group="small")
    df = fit.training_runs().df
    small = df[df["group"] == "small"]
    top = small[np.isclose(small["C"], small["C"].max(), rtol=1e-3)]
    best = top.loc[top["loss"].idxmin()]
    np.testing.assert_allclose(w["D"] / w["N"], best["D"] / best["N"])
    query = cal.query_frame(fit, N=w["N"].to_numpy(), D=w["D"].to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loss = np.exp(cal.log_loss_draws(fit, query, "new_run", "small", 0, "none"))
    lo, med, hi = np.quantile(loss, [0.05, 0.5, 0.95], axis=0)
    np.testing.assert_allclose(w["width90"], (hi - lo) / med, rtol=1e-9)
    with pytest.warns(UserWarning, match="widths_by_distance: group=None .* NEW"):
        cal.widths_by_distance(fit, "none")
    with pytest.raises(ValueError, match="not one of the fit's groups"):
        cal.widths_by_distance(fit, "none", group="mystery")
