"""Every stage that measures a distance beyond the fitted range measures it, for a fitted group
of a grouped fit, from that group's own runs (bayeslaws.posterior.extrapolation.distance.
group_ranges), as predict does: the allocation's ``*_outside_decades`` and its warnings, the
near-optimal band's distances, the design's drift and the range a candidate widens, the
candidates' far-value check and the report's distances. A new group and a fit without groups
keep the pooled range. Runs SIMULATED (Chinchilla law, two groups far apart in scale; the
table of tests/test_group_ranges.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import quiet

import bayeslaws as bl
from bayeslaws import design
from bayeslaws.app.report import fit_report
from bayeslaws.design.discrepancy import point_distances
from bayeslaws.design.gaussian import setup
from bayeslaws.posterior.allocation import ExtrapolationWarning
from bayeslaws.posterior.extrapolation.distance import group_ranges
from bayeslaws.posterior.predict import outside_decades
from bayeslaws.runs import PlausibilityWarning

# small's runs: N 5e7..3e8 params, D 1e9..1e10 tokens, C 3e17..1.8e19 FLOPs (6 N D); large's:
# N 1e9..1e10, D 2e10..2e11, C 1.2e20..1.2e22. The pooled range of C is 3e17..1.2e22.
SMALL_C = (3e17, 1.8e19)
BUDGET = 3e21  # FLOPs: 2.2 decades above small's largest budget, inside the pooled range
BEYOND = {"N": 5e9, "D": 1e11}  # 1.2 decades beyond small's N, 1 beyond its D; pooled: inside


def _caught(call, *args, **kwargs) -> list:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(*args, **kwargs)
    return caught


def test_optimal_allocation_measures_a_groups_budget_from_its_own_runs(two_scales_grouped):
    kw = {"C": [1e19, BUDGET], "extrapolation": "none", "seed": 0}
    small = quiet(bl.optimal_allocation, two_scales_grouped, group="small", **kw)
    # the pooled range read 0.0 for both budgets (3e21 FLOPs lies inside large's budgets)
    np.testing.assert_allclose(
        small["C_outside_decades"], [0.0, np.log10(BUDGET / SMALL_C[1])], atol=1e-9
    )
    ranges = group_ranges(two_scales_grouped, "small")
    expected_N = outside_decades(small["N_opt"].to_numpy(), *ranges["N"])
    np.testing.assert_allclose(small["N_outside_decades"], expected_N, atol=1e-12)
    assert small["N_outside_decades"].iloc[1] > 0.5  # N_opt at 3e21 FLOPs: beyond small's 3e8
    new = quiet(bl.optimal_allocation, two_scales_grouped, group=None, **kw)  # a new group: pooled
    np.testing.assert_array_equal(new["C_outside_decades"], [0.0, 0.0])
    # 2.2 decades beyond small's budgets: past WARN_DECADES (2), warned, naming its range
    said = [
        str(w.message)
        for w in _caught(bl.optimal_allocation, two_scales_grouped, group="small", **kw)
        if w.category is ExtrapolationWarning
    ]
    assert len(said) == 1 and "outside group 'small''s fitted range" in said[0], said
    assert f"C [{SMALL_C[0]:.3g}, {SMALL_C[1]:.3g}] FLOPs" in said[0], said


def test_near_optimal_measures_a_groups_budget_from_its_own_runs(two_scales_grouped):
    kw = {"extrapolation": "none", "seed": 0, "n_grid": 21}
    near = quiet(bl.near_optimal, two_scales_grouped, BUDGET, group="small", **kw)
    assert near.outside_decades["C"] == pytest.approx(np.log10(BUDGET / SMALL_C[1]))
    assert near.range_note.startswith("outside group 'small''s fitted range by C +2.2")
    pooled = quiet(bl.near_optimal, two_scales_grouped, BUDGET, group=None, **kw)
    assert pooled.outside_decades["C"] == 0.0
    assert "outside the fitted range" in pooled.range_note or pooled.range_note == ""


def _cands(group):
    """Two candidate runs of ``group``: one inside small's range, one at the target."""
    return pd.DataFrame({"N": [1e8, BEYOND["N"]], "D": [3e9, BEYOND["D"]], "group": group})


def test_design_drift_of_a_groups_target_is_measured_from_its_own_runs(two_scales_grouped):
    target = design.Loss(**BEYOND, group="small")
    p = quiet(setup, two_scales_grouped, _cands("small"), target, 0, None, "small", "drift")
    # the target lies 1.2 decades beyond small's N: its drift is modelled (the pooled range
    # held it inside, beta None: no drift to remove, the target's spread read as fitted)
    assert p.ranges["N"][1] == pytest.approx([3e8])
    assert p.beta is not None and p.beta[0, 0] > 0.5  # ln loss per decade of N per slope
    DP, MU = p.drift_terms([])
    assert p.slope_var * np.sum(DP**2) > 0.01  # the drift's variance (ln loss squared)
    # the candidate at the target widens small's range to it: it removes all of the drift
    np.testing.assert_allclose(MU[1], DP, atol=1e-12)
    np.testing.assert_array_equal(MU[0], 0.0)  # one inside the range removes none
    # another group's runs do not widen small's own range: no drift removed
    q = quiet(setup, two_scales_grouped, _cands("large"), target, 0, None, "large", "drift")
    np.testing.assert_array_equal(q.drift_terms([])[1], 0.0)


def test_design_values_a_run_between_the_groups_range_and_its_target_by_the_drift_it_removes(
    two_scales_grouped,
):
    target = design.Loss(**BEYOND, group="small")
    cands = pd.DataFrame(  # inside small's range; halfway to the target; at the target
        {"N": [1e8, 1e9, BEYOND["N"]], "D": [3e9, 3e10, BEYOND["D"]], "group": "small"}
    )
    ranked = quiet(
        design.rank_candidates, two_scales_grouped, cands, target, model="drift", group="small"
    ).set_index("N")
    label = target.labels()[0]
    ratio = ranked[f"width_after[{label}]"] / ranked[f"width_now[{label}]"]
    # no run tells the drift's slope: the run halfway only moves small's range part of the way
    # (about 0.55 of the width left, 0.6 nats). Measured from the pooled range (where 1e9 is
    # inside) its predicted loss kept its drift, read as information about the target's drift:
    # 3.1 nats, 0.045 of the width left, nearly the run at the target's own 4.3 nats
    assert ratio[1e9] > 0.3, ratio
    assert ranked.loc[1e9, "info"] < 0.3 * ranked.loc[BEYOND["N"], "info"], ranked["info"]
    assert ratio[BEYOND["N"]] < 0.1 and ratio[1e8] > 0.99, ratio


def test_candidates_far_value_check_reads_their_groups_own_range(two_scales_grouped):
    # N 5e5: 3.3 decades below large's smallest N (1e9), 2 below the pooled one (5e7)
    cands = pd.DataFrame({"N": [2e9, 5e5], "D": [2e10, 2e10], "group": "large"})
    target = design.Loss(N=5e10, D=2e11, group="large")
    said = [
        str(w.message)
        for w in _caught(design.rank_candidates, two_scales_grouped, cands, target, model="none")
        if w.category is PlausibilityWarning
    ]
    assert any(
        m.startswith("N = 5e+05 (positions [1])") and "group 'large''s fitted range" in m
        for m in said
    ), said
    new = cands.assign(group="unseen")  # a new group: the pooled range, not far
    said = [
        str(w.message)
        for w in _caught(design.rank_candidates, two_scales_grouped, new, target, model="none")
        if w.category is PlausibilityWarning
    ]
    assert not [m for m in said if m.startswith("N = 5e+05")], said


def test_report_distances_of_a_group_are_from_its_own_runs(two_scales_grouped):
    report = quiet(
        fit_report, two_scales_grouped, targets=[(BEYOND["N"], BEYOND["D"])], group="small"
    )
    text = report.to_text()
    assert "group small's own runs: N [5e+07, 3e+08] parameters" in text
    assert "N 1.22 decades above the largest fitted size N (3e+08)" in text
    pooled = quiet(
        fit_report, two_scales_grouped, targets=[(BEYOND["N"], BEYOND["D"])], group=None
    )
    text = pooled.to_text()
    assert "own runs" not in text and "N inside the fitted size N range" in text


def test_an_ungrouped_fit_keeps_the_pooled_range(two_scales_small):
    ranges = two_scales_small.record.ranges
    table = quiet(bl.optimal_allocation, two_scales_small, C=[1e19, BUDGET], extrapolation="none")
    np.testing.assert_allclose(
        table["C_outside_decades"], outside_decades(np.array([1e19, BUDGET]), *ranges["C"])
    )
    target = design.Loss(**BEYOND)
    cands = _cands("small").drop(columns="group")
    p = quiet(setup, two_scales_small, cands, target, 0, None, None, "drift")
    DP, MU = p.drift_terms([])
    np.testing.assert_array_equal(DP, (point_distances(p.tpoints, ranges) * p.beta).T)
    np.testing.assert_allclose(MU[1], DP, atol=1e-12)  # the pooled range widens to the target
