"""bayeslaws.design, review R3: the widths after a unit under the drift, the repeat cap with a
column the law does not read, why a batch is short, and an unknown group= refused before any
warning."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from bayeslaws import design
from bayeslaws.design.gaussian import setup

NEAR = design.Loss(N=7e9, D=1.4e11)  # just beyond the fitted range (60M-6B params, 1B-100B tokens)
LABEL = "L(N=7e+09, D=1.4e+11)"
# a unit beyond the target (it removes the target's drift) and one inside the range (keeps it)
BEYOND_AND_INSIDE = pd.DataFrame({"N": [1e10, 3e9], "D": [2e11, 5e10]})
POINTS = pd.DataFrame({"N": [1e8, 3e9, 1e10, 6e9], "D": [2e9, 5e10, 2e11, 1e9]})


def _ranked(fit, model: str) -> pd.DataFrame:
    return design.rank_candidates(
        fit, BEYOND_AND_INSIDE, NEAR, model=model, cost=None, max_draws=400
    ).set_index("unit")


def test_width_after_under_the_drift_predicts_the_interval_after_the_run(simulated_fit):
    """Under the drift the target's draws are heavy-tailed (their 90% width is far below the
    Gaussian one of their variance), and width_after = width_now * sqrt(post / prior) mixed that
    quantile width with closed-form variances: a unit removing the whole drift was predicted
    NARROWER than under the fitted law alone (0.026 against 0.029; refits showed 0.039-0.041,
    the Gaussian width of the variance after). The width after is now the rebuilt draws':
    with the drift removed, the Gaussian width of the variance after (to Monte Carlo error);
    with the drift kept, about the draws' own width."""
    drift, none = _ranked(simulated_fit, "drift"), _ranked(simulated_fit, "none")
    now, after = f"width_now[{LABEL}]", f"width_after[{LABEL}]"
    assert drift.loc[0, now] > 3 * none.loc[0, now]  # the drift matters here (not trivial)
    # never narrower than the law alone after the same run: the drift only adds uncertainty
    assert drift.loc[0, after] >= none.loc[0, after]
    # the whole drift removed: the Gaussian width of the variance after (exp of the log scale)
    p = setup(simulated_fit, BEYOND_AND_INSIDE, NEAR, 0, 400, None, "drift")
    post_sd = np.sqrt(p.prior_cov()[0, 0] * np.exp(-2 * drift.loc[0, "info"]))
    z, centre = norm.ppf(0.95), np.median(p.tdraws[:, 0])
    gaussian = np.exp(centre + z * post_sd) - np.exp(centre - z * post_sd)
    np.testing.assert_allclose(drift.loc[0, after], gaussian, rtol=0.1)
    # a unit inside the range keeps the drift (and its heavy tail): the interval barely moves
    assert drift.loc[1, after] <= drift.loc[1, now]
    assert drift.loc[1, after] > 0.9 * drift.loc[1, now]
    # the greedy batch reports the same width for the same first pick
    plan = design.next_runs(
        simulated_fit, BEYOND_AND_INSIDE, NEAR, k=1, model="drift", cost=None, max_draws=400
    )
    assert plan["unit"].iloc[0] == 0
    np.testing.assert_allclose(plan[after].iloc[0], drift.loc[0, after], rtol=1e-9)


def test_width_after_without_drift_is_still_the_information(simulated_fit):
    """Without a drift the width after is width_now * sqrt(post / prior), as before: ln(now /
    after) is the unit's information (nats)."""
    none = _ranked(simulated_fit, "none")
    implied = np.log(none[f"width_now[{LABEL}]"] / none[f"width_after[{LABEL}]"])
    np.testing.assert_allclose(implied, none["info"], rtol=1e-9, atol=1e-12)


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
    from bayeslaws.design.batch import run_keys

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
    assert "(Python: guardrails=Guardrails(max_repeats=None); the command line keeps" in said
    # a budget that affords no unpicked unit is still named
    tight = 6 * (1e8 * 2e9 + 6e9 * 1e9)  # the two cheapest runs
    with pytest.warns(UserWarning, match=r"picked 2: the budget .* affords no more"):
        design.next_runs(simulated_fit, POINTS, NEAR, k=3, budget=tight, **opts)


def test_an_unknown_group_is_refused_before_any_group_warning(grouped_fit):
    """group='zzz' for a fit of groups A and B warned that the target is another group's, then
    was refused: the refusal comes first, alone."""
    train = grouped_fit.record.training_runs
    N0, D0 = float(np.median(train["N"])), float(np.median(train["D"]))
    cands = pd.DataFrame({"N": [N0, 3 * N0], "D": [D0, 2 * D0]})
    target = design.Loss(N=10 * N0, D=10 * D0, group="A")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match=r"group='zzz' is not one of the fit's groups"):
            design.next_runs(grouped_fit, cands, target, k=1, group="zzz", model="none")
        with pytest.raises(ValueError, match=r"group='zzz' is not one of the fit's groups"):
            design.rank_candidates(grouped_fit, cands, target, group="zzz", model="none")
    assert [w for w in record if issubclass(w.category, design.GroupWarning)] == []
