"""Budgeted and k-run batches: fills with repeats, the pick tolerance, the repeat cap and the
ratio rule of a batch that ends early, and the warnings that say why a batch is short. All data
SIMULATED (conftest fits)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from bayeslaws import design
from bayeslaws.design import batch

NEAR = design.Loss(N=7e9, D=1.4e11)  # just beyond the fitted range (60M-6B params, 1B-100B tokens)


# three units inside the fitted range, of 6e17, 1.8e19 and 3.6e20 FLOPs
THREE = pd.DataFrame({"N": [1e8, 6e8, 3e9], "D": [1e9, 5e9, 2e10]})


OFF = design.Guardrails(None, False)


OPTS = {"model": "none", "max_draws": 100}


def _run(fit, cands, **options):
    """next_runs with its warnings recorded: (plan, [message, ...])."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan = design.next_runs(fit, cands, NEAR, **{**OPTS, **options})
    return plan, [str(w.message) for w in caught]


# ---- 1. repeats fill the budget ------------------------------------------------------------------
def test_a_fill_with_repeats_allowed_spends_the_budget(simulated_fit):
    """Budget 10 times the cheapest unit, repeats allowed: the fill went on only while distinct
    units fit (3 picks); now it picks until no unit fits what is left, with no warning blaming
    the guardrails (they are off)."""
    flops = 6 * THREE["N"] * THREE["D"]
    budget = 10 * float(flops.min())
    plan, said = _run(simulated_fit, THREE, k=None, budget=budget, guardrails=OFF)
    spent = float(plan["flops"].sum())
    assert spent <= budget * (1 + 1e-9)
    assert budget - spent < float(flops.min())  # nothing more fits
    assert len(plan) > len(THREE)  # so some unit was picked again
    assert not any("guardrails" in s for s in said), said


def test_k_above_the_number_of_units_is_reached_with_repeats(simulated_fit):
    """k=5 of 3 units with repeats allowed: 5 picks, not 3 with "there are only 3"."""
    plan, said = _run(simulated_fit, THREE, k=5, guardrails=OFF, cost=None)
    assert len(plan) == 5
    assert not any("asked for k" in s for s in said), said


def test_a_repeat_cap_of_two_allows_two_picks_of_each_unit(simulated_fit):
    """max_repeats=2, two units: a fill makes 4 picks (each unit as often as the cap allows,
    so it says nothing, as a fill of each unit once does), and a short k=5 batch names the
    cap; a third unit at the first's design point is refused by the guardrails, and that is
    said."""
    two = THREE.iloc[:2]
    rails = design.Guardrails(max_repeats=2, ratio_diversity=False)
    plan, said = _run(simulated_fit, two, k=None, budget=1e25, guardrails=rails)
    assert len(plan) == 4 and sorted(plan["unit"].value_counts()) == [2, 2]
    assert not [s for s in said if "spends" in s], said
    short, said = _run(simulated_fit, two, k=5, guardrails=rails)
    assert len(short) == 4
    assert any("there are only 2 candidate unit(s)" in s and "max_repeats=2" in s for s in said)
    shared = pd.concat([two, two.iloc[:1]], ignore_index=True)  # unit 2: unit 0's point
    plan, said = _run(simulated_fit, shared, k=None, budget=1e25, guardrails=rails)
    assert len(plan) == 4
    assert [s for s in said if "although 1 unit(s) still fit" in s and "max_repeats=2" in s]


def test_a_fill_stopped_by_its_most_picks_says_so(simulated_fit, monkeypatch):
    """A fill makes at most MAX_FILL_PICKS picks (or one per unit when there are more): a
    budget that affords more stops there, with a warning naming that cap, not the guardrails."""
    monkeypatch.setattr(batch, "MAX_FILL_PICKS", 5)  # small, so that the test stays fast
    plan, said = _run(simulated_fit, THREE, k=None, budget=1e25, guardrails=OFF)
    assert len(plan) == 5
    (stopped,) = [s for s in said if "stopped at 5 picks" in s]
    assert "k=" in stopped and "guardrails" not in stopped
    assert batch.most_picks(np.array([1.0, 2.0]), None, 100.0, None) == 5
    assert batch.most_picks(np.array([1.0, 2.0]), None, 100.0, 1) == 2  # no repeats: the units
    assert batch.most_picks(np.array([1.0, 2.0]), 9, 100.0, None) == 9  # k asks for more


def test_most_picks_counts_the_cheapest_fill():
    """The pick count a budget affords: each unit at most max_repeats times, cheapest first."""
    flops = np.array([4.0, 1.0, 2.0])
    assert batch.most_picks(flops, 50, 7.0, None) == 7  # 7 picks of the 1-FLOP unit
    assert batch.most_picks(flops, 50, 7.0, 2) == 4  # 1, 1, 2, 2
    assert batch.most_picks(flops, 50, 7.0, 1) == 3  # 1, 2, 4
    assert batch.most_picks(flops, 50, 6.9, 1) == 2


def test_guard_default_guardrails_fill_unchanged(simulated_fit):
    """Guard (passes on the old code too): with the default repeat cap a fill still picks each
    unit at most once and spends what the distinct units allow."""
    plan, _ = _run(simulated_fit, THREE, k=None, budget=1e25)
    assert plan["unit"].is_unique and len(plan) == len(THREE)


# ---- 2. integer unit labels ----------------------------------------------------------------------
def test_unit_and_n_runs_stay_integers(simulated_fit):
    plan, _ = _run(simulated_fit, THREE, k=2)
    assert plan["unit"].dtype.kind == "i" and plan["n_runs"].dtype.kind == "i"
    assert set(plan["unit"]) <= {0, 1, 2}


def test_budget_is_not_wasted_on_cheap_runs_worth_nothing(simulated_fit):
    """A budget that buys exactly one far run worth nats: greedy per FLOP picked three cheap
    in-range runs worth ~1e-4 nats and spent 0.14% of it (no warning). The by-value greedy's
    batch is worth more, so it is returned and labelled."""
    cands = pd.DataFrame({"N": [3e7, 2e8, 1e9, 3e10], "D": [5e8, 4e9, 2e10, 5e11]})
    budget = 6 * 3e10 * 5e11  # the far run's FLOPs
    alone = design.rank_candidates(simulated_fit, cands, NEAR, cost=None, max_draws=300)
    best = alone.loc[alone["flops"] <= budget, "info"].max()
    plan = design.next_runs(simulated_fit, cands, NEAR, k=None, budget=budget, max_draws=300)
    assert plan["cumulative_flops"].iloc[-1] <= budget * (1 + 1e-9)
    assert plan["cumulative_info"].iloc[-1] >= best - 1e-9  # never below the best single unit
    assert 3e10 in set(plan["N"])
    assert set(plan["greedy_rule"]) == {"by_value"}
    # where per FLOP is worth more (all parameters: the cheap runs are informative), it is kept
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", design.GuardrailWarning)
        free = design.next_runs(simulated_fit, cands, k=None, budget=budget, max_draws=300)
        per_value = design.next_runs(
            simulated_fit, cands, k=None, budget=budget, max_draws=300, cost_power=0.0
        )
    assert free["cumulative_info"].iloc[-1] >= per_value["cumulative_info"].iloc[-1] - 1e-12
    assert free["greedy_rule"].iloc[0] == (
        "per_cost"
        if free["cumulative_info"].iloc[-1] >= per_value["cumulative_info"].iloc[-1]
        else "by_value"
    )


def test_budget_pre_count_has_the_pick_tolerance(simulated_fit):
    """Three runs of 1e19 * (1 + 1e-12) FLOPs under a budget of 3e19: each pick allowed a
    relative 1e-9, the count of picks that fit none, so the batch stopped at 2."""
    c = pd.DataFrame({"N": [1e8, 3e8, 1e9, 3e9], "D": [2e9, 5e9, 1e10, 3e10]})
    c["flops_nominal"] = 1e19 * (1 + 1e-12)
    plan = design.next_runs(
        simulated_fit,
        c,
        design.NOpt(C=1e22),
        model="none",
        k=None,
        budget=3e19,
        flops_column="flops_nominal",
        guardrails=design.Guardrails(None, False),
        max_draws=100,
    )
    assert len(plan) == 3


def test_a_fill_stopped_by_the_guardrails_says_the_budget_is_unspent(simulated_fit):
    """Two units at one design point, max_repeats=1, a budget of ten such runs: the fill stops
    after one pick with 90% unspent though the other unit fits; that is said, not silent."""
    c = pd.DataFrame({"N": [1e8, 1e8], "D": [2e9, 2e9], "unit": ["a", "b"]})
    budget = 10 * 6 * 1e8 * 2e9
    with pytest.warns(UserWarning, match=r"spends .* \(10\.0%\) although 1 unpicked"):
        plan = design.next_runs(simulated_fit, c, k=None, budget=budget, max_draws=100)
    assert len(plan) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fill that spends the budget says nothing
        design.next_runs(simulated_fit, c.iloc[:1], k=None, budget=budget, max_draws=100)


POINTS = pd.DataFrame({"N": [1e8, 3e9, 1e10, 6e9], "D": [2e9, 5e10, 2e11, 1e9]})


def test_a_nan_column_the_law_ignores_does_not_disable_the_repeat_cap(simulated_fit):
    """A loss surface does not read lr; an all-NaN lr column made every run's key hold log(NaN),
    never equal to itself, so a duplicated design point was picked twice (+1.2e22 FLOPs, no
    warning)."""
    dup = pd.concat([POINTS, POINTS.iloc[[2]]], ignore_index=True)
    opts = {"k": 3, "model": "none", "cost": None, "max_draws": 200}
    plain = design.next_runs(simulated_fit, dup, NEAR, **opts)
    with_nan = design.next_runs(simulated_fit, dup.assign(lr=np.nan), NEAR, **opts)
    assert not plain.duplicated(["N", "D"]).any()
    assert not with_nan.duplicated(["N", "D"]).any()
    np.testing.assert_array_equal(with_nan["unit"], plain["unit"])
    # and campaign-wide: a run trained before (no lr column) counts against candidates with one
    trained = POINTS.iloc[[2]]
    later = design.next_runs(
        simulated_fit,
        POINTS.assign(lr=np.nan),
        NEAR,
        guardrails=design.Guardrails().after(trained),
        **opts,
    )
    assert 1e10 not in set(later["N"])


def test_nan_safe_keys():
    """Two runs alike but for a missing lr share one key (None in place of log(NaN))."""
    from bayeslaws.design.guardrails import run_keys

    runs = pd.DataFrame({"N": [1e9, 1e9], "D": [2e10, 2e10], "lr": [np.nan, np.nan]})
    first, second = run_keys(runs)
    assert first == second and first[2] is None


def test_a_short_batch_blames_the_guardrails_when_the_budget_still_affords_more(simulated_fit):
    """7 candidate rows, 4 distinct design points, a budget of 1e30 FLOPs: the batch of k=6
    stopped at 4 because of the repeat cap, but the warning said the budget afforded no more."""
    rows = pd.concat([POINTS, POINTS.iloc[[2, 2, 2]]], ignore_index=True)
    opts = {"model": "none", "max_draws": 200}
    with pytest.warns(UserWarning, match=r"picked 4: the guardrails \(max_repeats=1") as record:
        out = design.next_runs(simulated_fit, rows, NEAR, k=6, budget=1e30, **opts)
    assert len(out) == 4
    assert not any("affords no more" in str(w.message) for w in record)
    said = next(str(w.message) for w in record if "guardrails" in str(w.message))
    python = "(Python: guardrails=Guardrails(max_repeats=None); bayeslaws design keeps the defaults"
    assert python in said
    # a budget that affords no unpicked unit is still named
    tight = 6 * (1e8 * 2e9 + 6e9 * 1e9)  # the two cheapest runs
    with pytest.warns(UserWarning, match=r"picked 2: the budget .* affords no more"):
        design.next_runs(simulated_fit, POINTS, NEAR, k=3, budget=tight, **opts)


TARGET = design.Loss(N=7e9, D=1.4e11)  # just beyond the fitted range


BIG, SAME_RATIO, OTHER_RATIO = (1e10, 2e11), (3e9, 6e10), (2e9, 2e11)


@pytest.fixture(scope="module")
def fit(simulated_fit):
    """The SIMULATED fit the tests share (its training runs: conftest's chinchilla_design)."""
    return simulated_fit


def _plan(fit, cands, **options):
    """next_runs (no costs, the fitted law alone) with its warnings: (plan, [warning, ...])."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan = design.next_runs(fit, cands, TARGET, cost=None, model="none", **options)
    return plan, list(caught)


# ---- 3. the ratio rule of a batch that ends early ------------------------------------------------
def _same_ratio(plan: pd.DataFrame) -> bool:
    ratio = np.log(plan["D"] / plan["N"])
    return len(plan) >= 2 and ratio.max() - ratio.min() <= np.log(design.Guardrails().ratio_tol)


def _guardrail_warnings(caught) -> list:
    return [str(w.message) for w in caught if issubclass(w.category, design.GuardrailWarning)]


@pytest.mark.parametrize("ended_by", ["candidates", "budget"])
def test_a_batch_ended_early_at_one_ratio_warns_and_is_labelled_relaxed(fit, ended_by):
    """k=3 of two units at one D/N (the candidates end the batch), or of three where the budget
    affords only the two at one D/N after the first pick: one GuardrailWarning and the last
    pick "relaxed"."""
    if ended_by == "candidates":
        cands = pd.DataFrame([BIG, SAME_RATIO], columns=["N", "D"])
        plan, caught = _plan(fit, cands, k=3)
    else:
        cands = pd.DataFrame([BIG, SAME_RATIO, OTHER_RATIO], columns=["N", "D"])
        # BIG and SAME_RATIO fit (6ND FLOPs), BIG and OTHER_RATIO do not
        budget = 6 * (np.prod(BIG) + np.prod(SAME_RATIO) + np.prod(OTHER_RATIO) / 2)
        plan, caught = _plan(fit, cands, k=3, budget=budget)
    assert len(plan) == 2 and _same_ratio(plan), plan[["N", "D"]]
    said = _guardrail_warnings(caught)
    assert len(said) == 1 and "ratio_tol=1.5" in said[0], said
    assert plan["guardrail"].tolist()[-1] == "relaxed"


def test_a_diverse_or_already_relaxed_batch_is_not_flagged_again(fit):
    """A batch ended early at two ratios says nothing; a k=2 batch whose last pick was relaxed
    warns once (not a second time at its end)."""
    cands = pd.DataFrame([BIG, OTHER_RATIO], columns=["N", "D"])
    plan, caught = _plan(fit, cands, k=3)
    assert len(plan) == 2 and not _same_ratio(plan)
    assert _guardrail_warnings(caught) == [] and "relaxed" not in plan["guardrail"].tolist()
    cands = pd.DataFrame([BIG, SAME_RATIO], columns=["N", "D"])
    plan, caught = _plan(fit, cands, k=2)
    assert len(_guardrail_warnings(caught)) == 1
    assert plan["guardrail"].tolist() == ["", "relaxed"]
