"""Backtests query held-out runs as ``bl.predict`` does, also where C is a nominal budget label.

``calibration.backtest`` and the benchmark's ``score_split`` asked the fit at the test table's
own C column. On isoFLOP tables whose C is a nominal budget label (Marin's 3e20 for 3.64e20
FLOPs) that C is not the compute model's FLOPs of (N, D), which ``bl.predict`` asks at and in
which the reference ranges are measured (``extrapolation.distance.as_queried``): the methods
that widen with the distance beyond the fitted range were scored on intervals a user never
gets (Marin comma, "drift": 90% widths 0.061 0.158 ... against predict's 0.109 0.199 ...).

A SIMULATED isoFLOP table whose C column is the round budget, 1.2 x 6ND, as Marin's is; one
tiny fit (1 chain x 150 draws) shared by both tests."""

from __future__ import annotations

import dataclasses
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import repo_script

import bayeslaws as bl
from bayeslaws.posterior import calibration as cal
from bayeslaws.posterior.extrapolation import drift
from bayeslaws.posterior.splits import simulated_truth_loss

NOMINAL = 1.2  # the C column / 6ND of every run: a budget label, not the runs' FLOPs
SAMPLER = dict(chains=1, warmup=150, draws=150)


def _nominal_split():
    """(train RunTable, test DataFrame): five runs per budget 1e18 ... 1e20 fitted, 1e21 held
    out; each run's C column is its round budget B (FLOPs) and its 6ND is B / 1.2, set as the
    Marin loader sets its nominal budgets (``bundled.isoflop_compendium``)."""
    rng = np.random.default_rng(0)
    rows = []
    for budget in (1e18, 3e18, 1e19, 3e19, 1e20, 1e21):
        for N in 0.1 * budget**0.5 * np.logspace(-0.6, 0.6, 5):
            rows.append((N, budget / (6 * N) / NOMINAL, budget))
    N, D, C = (np.array(v) for v in zip(*rows, strict=True))
    loss = simulated_truth_loss(N, D) * np.exp(0.01 * rng.standard_normal(N.size))
    table = pd.DataFrame({"N": N, "D": D, "C": C, "loss": loss})
    held = table["C"] > 2e20
    fitted = table[~held].reset_index(drop=True)
    runs = bl.load_runs(fitted.drop(columns="C"))
    train = dataclasses.replace(runs, df=runs.df.assign(C=fitted["C"].to_numpy()))
    return train, table[held].reset_index(drop=True)


@pytest.fixture(scope="module")
def nominal_backtest():
    train, test = _nominal_split()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a tiny fit: its SamplerWarning, the GP's noise note
        scores, points, fit = cal.backtest(
            train, test, likelihood="gaussian", methods=("drift",), seed=0, **SAMPLER
        )
    return train, test, points, fit


def _predicted(fit, test) -> pd.DataFrame:
    """What a user gets: ``bl.predict`` of the held-out runs by their N and D, as new runs
    under "drift", 90% intervals, seed 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bl.predict(
            fit, N=test["N"], D=test["D"], kind="new_run", extrapolation="drift", seed=0
        )


def _assert_same_intervals(points: pd.DataFrame, predicted: pd.DataFrame) -> None:
    for ours, theirs in (("lower90", "lower"), ("upper90", "upper"), ("median", "median")):
        np.testing.assert_allclose(points[ours].to_numpy(), predicted[theirs].to_numpy(), rtol=1e-9)


def test_backtest_intervals_are_predicts_on_a_table_with_nominal_budgets(nominal_backtest):
    """backtest scored "drift" on intervals asked at C = the nominal 1e21 (90% widths 0.595
    0.600 0.568 0.559 0.581 here) where bl.predict asks at 6ND = 8.3e20 (0.563 0.543 0.527
    0.522 0.557). Now its query is predict's, C the compute model's FLOPs; the table's C is
    kept as ``C_table``, and the distance column measures C as the query does."""
    train, test, points, fit = nominal_backtest
    assert np.allclose(test["C"] / (6 * test["N"] * test["D"]), NOMINAL)
    predicted = _predicted(fit, test)
    _assert_same_intervals(points, predicted)
    np.testing.assert_allclose(points["C"], 6 * test["N"] * test["D"], rtol=1e-12)
    np.testing.assert_allclose(points["C_table"], test["C"])
    np.testing.assert_allclose(points["distance"], 1.0, rtol=1e-9)  # 1e21 / 1e20 budgets


def test_benchmark_split_intervals_are_predicts_on_a_table_with_nominal_budgets(
    nominal_backtest, tmp_path, monkeypatch
):
    """benchmarks/calibration.py's score_split set the query's C to the table's C ("as in the
    table (e.g. a budget column)"): on Marin the nominal budget. Now it asks as bl.predict does
    (the fit is the shared one, given to score_split in place of its own bl.fit); the points
    file keeps the table's C as the budget label."""
    bench = repo_script("benchmarks/calibration.py", "calibration_bench_review9")
    train, test, _, fit = nominal_backtest
    monkeypatch.setattr(bench, "bl", SimpleNamespace(fit=lambda *args, **kwargs: fit))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, points, _ = bench.score_split(
            "selection", "nominal", "1e21", train, test, None, None, ["drift"], SAMPLER, 0,
            tmp_path, bench.POPULATION,
        )  # fmt: skip
    loss = points[points["quantity"] == "loss"].reset_index(drop=True)
    assert len(loss) == len(test)
    as_run = bench.with_cache(fit, {drift.CACHE_KEY: bench.population(None)})
    _assert_same_intervals(loss, _predicted(as_run, test))
    np.testing.assert_allclose(loss["C"], test["C"])  # the budget label, as written before
