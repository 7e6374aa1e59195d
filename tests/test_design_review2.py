"""bayeslaws.design, review round 3: budgeted batches (the per-cost greedy's waste, one
tolerance, an unspent budget), and the bounds' noise and drift (NMC / PCE against the Gaussian
value, the reweighted target without its drift)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from bayeslaws import design

NEAR = design.Loss(N=7e9, D=1.4e11)  # just beyond the fitted range (60M-6B params, 1B-100B tokens)


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


def test_reweighted_uses_the_target_without_its_drift(simulated_fit):
    """Under the default (drift) model the target's draws carry heavy-tailed drift (kurtosis
    ~25) that no in-range outcome tells anything about: reweighting them gave 0.006-0.007 nats
    where the Gaussian value is ~1e-4. Without the drift (its variance added in closed form)
    the two agree up to Monte Carlo error."""
    cands = pd.DataFrame({"N": [8e7, 4e8, 1.5e9], "D": [3.6e9, 8e9, 9.7e9]})  # inside the range
    b = design.bounds(simulated_fit, cands, NEAR, seed=0)
    print(b[["gaussian", "reweighted", "gaussian_drift"]].to_string())
    assert np.all(b["gaussian"] < 0.01)
    gap = np.abs(b["reweighted"] - b["gaussian"])
    assert np.all(gap <= 1e-3), gap  # the drift's noise: 0.006 nats
    assert np.all(gap <= 3 * b["reweighted_se"] + 1e-5), gap


def test_a_candidates_value_does_not_depend_on_the_others_listed(simulated_fit):
    """Under the default model ("drift") the GP discrepancy of the candidates' observations was
    drawn jointly over the listed candidates: an in-range run was worth 6.6e-5, 7.5e-5 or
    6.8e-5 nats as candidates were added. Now each point's draw is a fixed function of the
    point, so its value is the same in any candidate set (and at a target's own point the
    observation and the target share it)."""
    base = pd.DataFrame({"N": [2e8, 1e9], "D": [4e9, 2e10]})
    more = pd.concat(
        [base, pd.DataFrame({"N": [5e8, 3e9], "D": [3e9, 5e10]})], ignore_index=True
    )
    values = []
    for cands in (base, more, more.iloc[::-1]):
        ranked = design.rank_candidates(simulated_fit, cands, NEAR, cost=None, max_draws=300)
        points = list(zip(base.N, base.D, strict=True))
        values.append(ranked.set_index(["N", "D"]).loc[points, "info"])
    np.testing.assert_allclose(values[1].to_numpy(), values[0].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(values[2].to_numpy(), values[0].to_numpy(), rtol=1e-9)


def test_point_normals_are_per_point_and_group():
    """The GP's draws at a point are a fixed function of (seed, point, group): the same in any
    call, independent between points and between groups (two groups' GPs are independent, so
    the same normals for both would correlate their deviations perfectly)."""
    from bayeslaws.posterior.model import point_normals

    alone = point_normals(0, [1e9], [2e10], 500, group="a")
    listed = point_normals(0, [3e8, 1e9], [1e10, 2e10], 500, group="a")
    other = point_normals(0, [1e9], [2e10], 500, group="b")
    np.testing.assert_array_equal(alone[:, 0], listed[:, 1])
    assert abs(np.corrcoef(alone[:, 0], other[:, 0])[0, 1]) < 0.2  # 500 draws: sd 0.045
    assert abs(np.corrcoef(listed[:, 0], listed[:, 1])[0, 1]) < 0.2
    assert np.isfinite(point_normals(0, [0.5], [0.5], 3)).all()  # ln of a value below 1
