"""Simulated and replayed campaigns: budgets spent and inputs checked up front.

The simulated campaign's baselines spend the budget as the grid
does (random drew a batch it could not afford and stopped; ours was not given the budget
left), and replay pools, budgets and simulated-campaign inputs are checked up front with
errors that name what is wrong. All data SIMULATED."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

from bayeslaws import design
from bayeslaws.app import campaign, replay
from bayeslaws.app.replay import fits
from bayeslaws.app.replay import steps as replay_steps
from bayeslaws.inference.diagnostics import SamplerWarning
from bayeslaws.runs.checks import UnknownNameError
from bayeslaws.runs.simulate import VideoDiTTruth

TINY = {"chains": 1, "warmup": 100, "draws": 100}


# ---- 1. the baselines spend the budget ---------------------------------------------------------
def _flops(cells: pd.DataFrame) -> np.ndarray:
    return np.asarray(VideoDiTTruth().flops(cells["N"], cells["D"]), float)


def _tight_pool() -> tuple[pd.DataFrame, float, pd.DataFrame]:
    """(pool, budget, the one affordable pair): the paper's start, two cheap cells (1.8e17 and
    1.02e17 FLOPs) and six cells of 2.5e17 FLOPs each; the budget leaves 2.83e17 FLOPs after
    the start, so each cell fits alone but only the cheap pair fits as a batch of two."""
    cheap = pd.DataFrame({"N": [0.03e9, 0.017e9], "D": [1e9, 1e9]})
    N = np.linspace(0.02e9, 0.03e9, 6)
    dear = pd.DataFrame({"N": N, "D": 2.5e17 / (6 * N)})
    start = campaign.paper_start()
    pool = pd.concat([start, cheap, dear], ignore_index=True)
    budget = _flops(start).sum() + _flops(cheap).sum() + 1e15
    return pool, float(budget), cheap


def _cheapest_batch(pool, runs, batch) -> float:
    """FLOPs of the cheapest ``batch`` untrained cells of ``pool`` after ``runs`` (inf: fewer)."""
    fresh = campaign.untrained(pool, runs)
    costs = np.sort(_flops(fresh))
    return float(costs[:batch].sum()) if len(costs) >= batch else np.inf


def test_random_and_ours_buy_while_a_batch_fits_and_ours_is_given_the_budget_left(monkeypatch):
    """Random drew two affordable cells whose sum was not affordable and the campaign stopped
    with the budget left (seed 0, batch 3 on the paper pool: 66% spent, three cells costing
    0.8% of what was left); ours was called without the budget left. Now random draws only
    batches that fit, every pool strategy stops only when no batch fits, and next_runs gets
    ``budget=`` the FLOPs left."""
    pool, budget, cheap = _tight_pool()
    calls, real = [], campaign.next_runs

    def next_runs(fit, cands, **kwargs):
        calls.append({"n_runs": fit.n_runs, **kwargs})
        return real(fit, cands, **kwargs)

    monkeypatch.setattr(campaign, "next_runs", next_runs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplerWarning)
        res = campaign.simulate_campaign(
            ("random", "ours"), 0, pool=pool, budget=budget, batch=2, max_steps=3,
            fit_options=TINY, max_draws=50,
        )  # fmt: skip
    start_flops = float(_flops(campaign.paper_start()).sum())
    assert calls and calls[0]["n_runs"] == 4
    assert calls[0]["budget"] == pytest.approx(budget - start_flops, rel=1e-12)
    for strategy, runs in res.runs.groupby("strategy"):
        spent = float(runs["C"].sum())
        assert spent <= budget * (1 + 1e-9), strategy
        final = res.history[res.history["strategy"] == strategy]["cumulative_flops"].iloc[-1]
        assert final == pytest.approx(spent)
        assert final + _cheapest_batch(pool, runs, 2) > budget, strategy  # no batch was left
    random_runs = res.runs[res.runs["strategy"] == "random"]
    bought = random_runs[random_runs["step"] > 0]
    assert set(zip(bought["N"], bought["D"], strict=True)) == set(
        zip(cheap["N"], cheap["D"], strict=True)
    )  # the one pair that fits


def test_random_fill_finds_a_batch_whenever_one_fits():
    """With ``k``: exactly k candidates within the budget whenever k fit together, none when
    none do; without: the old fill of replay's random strategy (each in a random order when it
    fits what is left), the same picks for the same rng."""
    costs = np.array([5.0, 5.0, 5.0, 1.0, 5.0, 2.0, 5.0])
    for seed in range(20):
        picked = replay.random_fill(costs, 3.5, np.random.default_rng(seed), k=2)
        assert sorted(picked.tolist()) == [3, 5]  # 1 + 2: the only pair within 3.5
        three = replay.random_fill(costs, 11.0, np.random.default_rng(seed), k=3)
        assert len(three) == 3 and costs[three].sum() <= 11.0
    assert replay.random_fill(costs, 2.9, np.random.default_rng(0), k=2).size == 0
    assert replay.random_fill(costs[:1], 99.0, np.random.default_rng(0), k=2).size == 0
    rng, again = np.random.default_rng(4), np.random.default_rng(4)
    order, spent, old = again.permutation(len(costs)), 0.0, []
    for i in order:
        if spent + costs[i] <= 12.0 * (1 + 1e-9):
            old.append(i)
            spent += costs[i]
    assert replay.random_fill(costs, 12.0, rng).tolist() == old


# ---- 2. inputs checked up front ----------------------------------------------------------------
def _loss_pool(**changes) -> replay.Pool:
    """A small SIMULATED loss pool (N params, D tokens, C = 6ND FLOPs, loss)."""
    N = np.repeat([1e8, 2e8, 4e8], 3)
    D = 20 * N * np.tile([0.5, 1.0, 2.0], 3)
    runs = pd.DataFrame({"N": N, "D": D, "C": 6 * N * D, "loss": 2 + 400 / N**0.3})
    runs.index = [f"r{i}" for i in range(len(runs))]
    fields = {
        "name": "tiny (SIMULATED)",
        "kind": "loss",
        "runs": runs,
        "held_out": runs.iloc[:0],
        "law": "chinchilla",
        "targets": [design.Loss(N=1e10, D=2e11)],
        "start_size": 3,
        "simulated": True,
    }
    return replay.Pool(**{**fields, **changes})


def test_a_pool_without_a_needed_column_is_refused_naming_it():
    """A pool without C gave a bare pandas KeyError 'C' from Pool.start."""
    pool = _loss_pool()
    with pytest.raises(UnknownNameError, match=r"runs have no column\(s\) \['C'\]"):
        dataclasses.replace(pool, runs=pool.runs.drop(columns=["C"]))
    with pytest.raises(UnknownNameError, match=r"\['N', 'D'\]"):
        _loss_pool(runs=pool.runs.drop(columns=["N", "D"]))
    with pytest.raises(ValueError, match=r"'C' \(FLOPs\) must be finite and positive.*'r2'"):
        _loss_pool(runs=pool.runs.assign(C=np.where(pool.runs.index == "r2", np.nan, 1e18)))
    pool.runs = pool.runs.drop(columns=["C"])  # changed after it was made: checked again
    with pytest.raises(UnknownNameError, match="'C'"):
        replay.replay(pool, ("random",), (0,))


def test_a_pool_with_a_missing_loss_is_refused_naming_the_rows_unless_its_law_counts_them():
    """A NaN loss failed only once a strategy bought its run (after its compute was spent),
    with an error about new_runs, and replay_many lost the campaign's finished steps. A law
    that counts diverged runs (sweep, hyperparams) keeps them."""
    runs = _loss_pool().runs.copy()
    runs.loc[["r4", "r7"], "loss"] = np.nan
    runs.loc["r5", "loss"] = -np.inf
    with pytest.raises(ValueError, match=r"not finite at rows \['r4', 'r5', 'r7'\].*chinchilla"):
        _loss_pool(runs=runs)
    runs.loc["r5", "loss"] = np.inf  # a diverged run's +inf is read as missing
    assert _loss_pool(runs=runs, law="sweep").runs is runs
    with pytest.raises(ValueError, match=r"\['r4', 'r5', 'r7'\]"):
        _loss_pool(runs=runs)
    runs.loc["r5", "loss"] = -np.inf
    with pytest.raises(ValueError, match=r"\['r5'\]; law 'sweep' counts a missing or \+inf"):
        _loss_pool(runs=runs, law="sweep")


@pytest.mark.parametrize(
    "budgets, word",
    [
        ((0.05, float("nan")), "finite fractions"),
        ((-0.5,), "finite fractions"),
        ((0.0, 0.1), "finite fractions"),
        ((0.5, 2.0), r"in \(0, 1\]"),
        ((0.05, 0.01), "strictly increase"),
        ((0.05, 0.05), "strictly increase"),
    ],
)
def test_bad_budgets_are_refused_before_any_fit(monkeypatch, budgets, word):
    """NaN, negative, zero, decreasing or repeated budgets gave history rows whose budget label
    was not what their runs spent."""

    def no_fit(*args, **kwargs):
        raise AssertionError("fitted before the budgets were checked")

    monkeypatch.setattr(fits, "fit_runs", no_fit)  # the start fit (fit_start)
    pool = _loss_pool(truth=pd.DataFrame({"label": ["x"], "truth": [1.0]}))
    for run in (replay.replay, replay.replay_many):
        with pytest.raises(ValueError, match=f"budgets must .*{word}"):
            run(pool, ("random",), (0,), budgets=budgets)
    steps = replay.campaign_steps(pool, "random", 0, (None, None, 0.0), budgets=budgets, options={})
    with pytest.raises(ValueError, match="budgets must"):
        next(steps)
    assert replay.check_budgets((0.01, 0.05)) == (0.01, 0.05)
    assert replay.check_budgets(np.float64(0.1)) == (0.1,)


def test_a_budget_the_start_already_overspends_warns(monkeypatch):
    """A budget below the start's spend gave a row labelled with it whose runs spent more."""
    monkeypatch.setattr(replay_steps, "_scored", lambda *args: ({}, pd.DataFrame()))
    pool = _loss_pool()
    start = pool.start(0)
    share = pool.runs.loc[start, "C"].sum() / pool.compute
    budgets = (share / 2, min(1.0, 2 * share))
    steps = replay.campaign_steps(
        pool, "random", 0, (start, None, 0.0), budgets=budgets, options={}
    )
    with pytest.warns(replay.BudgetWarning, match=rf"more than budgets \[{budgets[0]}\]"):
        next(steps)
    with warnings.catch_warnings():
        warnings.simplefilter("error", replay.BudgetWarning)
        steps = replay.campaign_steps(
            pool, "random", 0, (start, None, 0.0), budgets=budgets[1:], options={}
        )
        next(steps)


def test_simulated_campaign_refuses_a_budget_below_the_start_and_cells_without_n_or_d(
    monkeypatch,
):
    """budget=1 returned a start-only campaign spending 2.66e18 FLOPs; a pool without D gave a
    bare pandas KeyError. Both are refused before any fit, naming the argument."""

    def no_fit(*args, **kwargs):
        raise AssertionError("fitted before the inputs were checked")

    monkeypatch.setattr(campaign, "fit_law", no_fit)
    with pytest.raises(ValueError, match=r"budget=1 FLOPs is below .*2\.664e\+18"):
        campaign.simulate_campaign("random", 0, budget=1.0)
    with pytest.raises(ValueError, match="budget must be a finite number"):
        campaign.simulate_campaign("random", 0, budget=float("nan"))
    with pytest.raises(UnknownNameError, match=r"pool has no column\(s\) \['D'\]"):
        campaign.simulate_campaign("random", 0, pool=campaign.campaign_pool()[["N"]])
    with pytest.raises(UnknownNameError, match=r"start has no column\(s\) \['N'\]"):
        campaign.simulate_campaign("random", 0, start=campaign.paper_start()[["D"]])
    with pytest.raises(UnknownNameError, match=r"grid has no column\(s\) \['N', 'D'\]"):
        campaign.simulate_campaign("grid", 0, grid=pd.DataFrame({"n": [1e8] * 4}))
